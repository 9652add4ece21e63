using Gatehouse.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Hosting;

/// <summary>The verified workload identity of a request's peer, and what to tell the upstream about it.</summary>
public readonly record struct PeerIdentity(string? Identity, string? Thumbprint, string? FailureReason, string? ForwardedClientCert);

/// <summary>
/// Resolves the peer identity of a request: from the mTLS client certificate verified during the handshake, or —
/// only on listeners marked <c>trust_forwarded_client_cert</c> — from the <c>x-forwarded-client-cert</c> header.
/// </summary>
public sealed class PeerIdentityResolver
{
    public PeerIdentity Resolve(HttpContext context, ListenerConfig listener)
    {
        _ = context;
        _ = listener;
        return default;
    }
}
