using Gatehouse.Runtime;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// Whether the engine can decide, by the same rule as the admin <c>/readyz</c> (<see cref="Tokens.IssuerRuntime.IsReady"/>:
/// every issuer has keys, or needs none, and none is older than <c>max_stale</c> — past it, every token of that issuer
/// gets 503). Used by grpc.health.v1.Health on ext_authz gRPC listeners.
/// </summary>
internal static class Readiness
{
    /// <summary>Null when ready; otherwise the first reason, naming the issuer.</summary>
    public static string? NotReadyReason(GatehouseSnapshot snapshot)
    {
        foreach (var issuer in snapshot.Issuers.Values)
        {
            if (!issuer.IsReady)
            {
                return issuer.KeysLoaded ? $"issuer {issuer.Name}: keys older than max_stale" : $"issuer {issuer.Name}: keys not loaded";
            }
        }

        return null;
    }
}
