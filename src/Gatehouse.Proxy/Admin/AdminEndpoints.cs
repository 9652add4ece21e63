using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Proxy.Admin;

/// <summary>
/// The admin listener: <c>/healthz</c> (live), <c>/readyz</c> (every issuer's keys loaded and within <c>max_stale</c>), <c>/metrics</c>
/// (Prometheus text 0.0.4), <c>/config</c> (effective config, secrets redacted, and the last reload's outcome),
/// <c>/ui</c> (the read-only console, <see cref="Console.ConsoleEndpoints"/>), <c>/.well-known/jwks.json</c> (the
/// Txn-Token signing keys, when <c>txn_tokens</c> is configured).
/// Bind it to loopback or a pod-internal address: it reveals configuration.
/// </summary>
internal sealed class AdminEndpoints
{
    private readonly GatehouseServer _server;

    public AdminEndpoints(GatehouseServer server)
    {
        _server = server;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        if (Console.ConsoleEndpoints.Handles(context.Request.Path))
        {
            await _server.Console.HandleAsync(context).ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }
        response.Headers.CacheControl = "no-store";
        switch (context.Request.Path.Value)
        {
            case "/healthz":
                await WriteTextAsync(context, 200, "ok\n").ConfigureAwait(false);
                break;
            case "/readyz":
                await WriteReadinessAsync(context).ConfigureAwait(false);
                break;
            case "/metrics":
                await _server.WriteMetricsAsync(context).ConfigureAwait(false);
                break;
            case "/config":
                await WriteConfigAsync(context).ConfigureAwait(false);
                break;
            case Tokens.TxnTokens.TxnTokenProtocol.Endpoints.Jwks when _server.Snapshots.Current.TxnTokens is { } txn:
                // The Txn-Token keys, as on the service listener, so sidecars load them like any issuer's JWKS.
                await TxnTokenService.TxnTokenServiceEndpoints.WriteJwksAsync(context, txn).ConfigureAwait(false);
                break;
            default:
                await WriteTextAsync(context, 404, "not found\n").ConfigureAwait(false);
                break;
        }
    }

    private async Task WriteReadinessAsync(HttpContext context)
    {
        var snapshot = _server.Snapshots.Current;
        // Not ready while any issuer's keys are missing or older than max_stale: every request needing that issuer
        // would get 503 keys.unavailable, so the replica must leave the load balancer (Kubernetes readiness).
        var notReady = snapshot.Issuers.Values.Where(i => !i.IsReady).Select(i => i.Name).ToList();
        // A federated trust domain without a usable bundle (never fetched, or past max_stale) refuses its peers:
        // not ready, and the trust_bundles entries say which and why.
        var bundles = context.RequestServices.GetService<PeerIdentityResolver>()?.FederatedBundles.Select(b => (b.Listener, State: b.Source.GetState())).ToList() ?? [];
        var bundlesReady = bundles.TrueForAll(b => b.State.Usable);
        context.Response.ContentType = "application/json";
        context.Response.StatusCode = notReady.Count == 0 && bundlesReady ? 200 : 503;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteBoolean("ready", notReady.Count == 0 && bundlesReady);
            writer.WriteNumber("revision", snapshot.Revision);
            writer.WriteStartObject("issuers");
            foreach (var issuer in snapshot.Issuers.Values)
            {
                var state = issuer.KeyState;
                writer.WriteStartObject(issuer.Name);
                writer.WriteBoolean("keys_loaded", issuer.KeysLoaded);
                writer.WriteNumber("key_count", state.KeyCount);
                writer.WriteBoolean("stale", state.IsStale);
                writer.WriteBoolean("expired", state.IsExpired);
                writer.WriteBoolean("ready", issuer.IsReady);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            // Note: shown, not gating readiness: when Redis is down only DPoP requests fail (503 state.unavailable);
            // taking every replica out of service would fail bearer traffic too.
            var backend = _server.State;
            writer.WriteStartObject("state");
            writer.WriteString("backend", backend.Backend);
            writer.WriteBoolean("healthy", backend.IsHealthy);
            writer.WriteEndObject();
            if (bundles.Count > 0)
            {
                writer.WriteStartArray("trust_bundles");
                foreach (var (listener, state) in bundles)
                {
                    writer.WriteStartObject();
                    writer.WriteString("listener", listener);
                    writer.WriteString("trust_domain", state.TrustDomain);
                    writer.WriteBoolean("usable", state.Usable);
                    writer.WriteBoolean("loaded", state.Loaded);
                    writer.WriteNumber("authorities", state.AuthorityCount);
                    if (state.Sequence is { } sequence)
                    {
                        writer.WriteNumber("sequence", sequence);
                    }
                    if (state.Age is { } age)
                    {
                        writer.WriteNumber("age_seconds", Math.Round(age.TotalSeconds, 1));
                    }
                    if (state.LastFailure is { } failure)
                    {
                        writer.WriteString("last_failure", failure);
                    }
                    if (!state.Usable)
                    {
                        writer.WriteString("reason", state.Loaded ? "bundle older than max_stale; peers of this trust domain are refused" : "bundle never fetched; peers of this trust domain are refused");
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private async Task WriteConfigAsync(HttpContext context)
    {
        var snapshot = _server.Snapshots.Current;
        var status = _server.ReloadStatus;
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("revision", snapshot.Revision);
            writer.WriteString("loaded_at", snapshot.LoadedAt);
            if (snapshot.Config.SourcePath is not null)
            {
                writer.WriteString("source", snapshot.Config.SourcePath);
            }
            if (status is not null)
            {
                writer.WriteStartObject("reload");
                writer.WriteNumber("successes", status.Successes);
                writer.WriteNumber("failures", status.Failures);
                if (status.LastAttempt is { } attempt)
                {
                    writer.WriteString("last_attempt", attempt);
                }
                writer.WriteStartArray("last_errors");
                foreach (var error in status.LastErrors)
                {
                    writer.WriteStringValue(error);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WritePropertyName("config");
            EffectiveConfigWriter.WriteJson(snapshot.Config, writer);
            writer.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }
}
