using Gatehouse.Runtime;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// Whether the engine can decide: every issuer has keys (or needs none) and none is older than <c>max_stale</c> —
/// past it, every token of that issuer gets 503. Used by grpc.health.v1.Health on ext_authz gRPC listeners.
/// </summary>
internal static class Readiness
{
    /// <summary>Null when ready; otherwise the first reason, naming the issuer.</summary>
    public static string? NotReadyReason(GatehouseSnapshot snapshot)
    {
        foreach (var issuer in snapshot.Issuers.Values)
        {
            if (!issuer.KeysLoaded)
            {
                return $"issuer {issuer.Name}: keys not loaded";
            }

            if (issuer.KeyState.IsExpired)
            {
                return $"issuer {issuer.Name}: keys older than max_stale";
            }
        }

        return null;
    }
}
