using Gatehouse.Configuration;
using Gatehouse.Model;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Runtime;
using Gatehouse.Tokens.TxnTokens;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// Txn-Tokens minted inline by gateway listeners (<c>txn_tokens.mint_at_gateway</c>; docs/txn-tokens.md). Before the
/// decision: a client-sent Txn-Token header is removed on every gateway listener (a client must never inject one) and,
/// when minting, the transaction id is fixed so the audit record of the request — allowed or denied — carries it.
/// After an allow: one Txn-Token is signed for the upstream.
/// </summary>
internal readonly struct TxnTokenMinting
{
    private TxnTokenMinting(string? transactionId) => TransactionId = transactionId;

    /// <summary>The <c>txn</c> of the request, when this listener mints: <c>TRACEID-SPANID</c> of the traceparent sent upstream.</summary>
    public string? TransactionId { get; }

    public static TxnTokenMinting Prepare(HttpContext context, ListenerConfig listener, TxnTokenRuntime? runtime, in TraceContext trace)
    {
        if (listener.Mode != ListenerMode.Gateway)
        {
            return default;
        }

        // Note: removed before the decision, so a policy never reads a client's Txn-Token and the upstream never gets one.
        context.Request.Headers.Remove(runtime?.Config.Header ?? TxnTokenProtocol.HeaderName);
        if (runtime is not { Config.MintAtGateway: true })
        {
            return default;
        }

        // The span id the upstream sees as its parent (traceparent "00-<32 trace>-<16 span>-<2 flags>"): fresh per
        // request, so txn is unique even when a client replays a traceparent, and it starts with the trace id.
        var span = trace.TraceParent.AsSpan(36, 16);
        return new TxnTokenMinting(string.Concat(trace.TraceId.AsSpan(), "-", span));
    }

    /// <summary>Signs the Txn-Token of an allowed request, or returns null when this request gets none.</summary>
    public string? Mint(TxnTokenRuntime? runtime, Decision decision, CompiledRoute route, AuthorizationRequest request, ListenerConfig listener, PeerIdentityResolver peers, TimeProvider time)
    {
        if (TransactionId is null || runtime is null || decision.Principal is not { HasToken: true } principal)
        {
            // Note: a public route's request has no principal to assert; it travels without a Txn-Token.
            return null;
        }

        var subject = principal.Subject ?? principal.ClientId;
        if (subject is null)
        {
            return null;
        }

        var content = new TxnTokenContent
        {
            Subject = subject,
            Scope = runtime.NarrowScope(principal.Scopes, route.Config.Authentication.RequiredScopes, decision.DecidingPolicy),
            Transaction = TransactionId,
            RequestingWorkload = runtime.Config.Workload ?? peers.OwnIdentity(listener.Name) ?? "gatehouse",
            Gateway = new GatewayTransactionContext(
                request.SourceAddress?.ToString(),
                request.PeerIdentity ?? (decision.Token?.Kind == "opaque" ? "bearer_opaque" : "bearer"),
                principal.ClientId,
                request.Scheme,
                request.Method,
                decision.NormalizedPath ?? "/",
                route.Name),
        };
        return runtime.Minter.Mint(content, time.GetUtcNow()).Token;
    }
}
