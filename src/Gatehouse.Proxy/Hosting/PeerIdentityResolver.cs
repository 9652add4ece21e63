using System.Collections.Concurrent;
using Gatehouse.Configuration;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;
using Gatehouse.Proxy.Tls;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Hosting;

/// <summary>The verified workload identity of a request's peer, and what to tell the upstream about it.</summary>
public readonly record struct PeerIdentity(string? Identity, string? Thumbprint, string? FailureReason, string? ForwardedClientCert);

/// <summary>
/// Resolves the peer identity of a request: from the mTLS client certificate verified during the handshake (an
/// invalid certificate never completes a handshake), or — only on listeners marked
/// <c>trust_forwarded_client_cert</c> — from the <c>x-forwarded-client-cert</c> header. On every other listener an
/// inbound XFCC header is removed before anything reads it.
/// </summary>
public sealed class PeerIdentityResolver : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TlsListenerState> _tlsStates = new(StringComparer.Ordinal);

    /// <summary>Every federated trust domain of every TLS listener: (listener, source), for <c>/readyz</c>.</summary>
    public IEnumerable<(string Listener, FederatedBundleSource Source)> FederatedBundles =>
        _tlsStates.OrderBy(s => s.Key, StringComparer.Ordinal).SelectMany(s => s.Value.FederatedBundles.Select(b => (s.Key, b)));

    /// <summary>Stops the listeners' federation bundle refresh (the container disposes this singleton at shutdown).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var state in _tlsStates.Values)
        {
            await state.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Registers a TLS listener's state (its own SPIFFE ID is the <c>By</c> of the XFCC it sends upstream).</summary>
    public void Register(string listener, TlsListenerState state) => _tlsStates[listener] = state;

    /// <summary>Re-reads every listener's certificates and bundles now (SIGHUP).</summary>
    public void ReloadCertificates()
    {
        foreach (var state in _tlsStates.Values)
        {
            state.ReloadNow();
        }
    }

    /// <summary>The SPIFFE ID in a TLS listener's own certificate, or null (plain HTTP, or no SPIFFE ID).</summary>
    public string? OwnIdentity(string listener) =>
        _tlsStates.TryGetValue(listener, out var state) ? state.OwnIdentity?.Value : null;

    public PeerIdentity Resolve(HttpContext context, ListenerConfig listener)
    {
        var trustedXfcc = XfccPolicy.SanitizeInbound(context.Request.Headers, listener.TrustForwardedClientCert);
        var peer = context.GetPeerIdentity();
        SpiffeId? self = _tlsStates.TryGetValue(listener.Name, out var state) ? state.OwnIdentity : null;

        string? identity = null;
        string? thumbprint = null;
        if (peer is { IsValid: true })
        {
            identity = peer.Identity?.Value;
            thumbprint = peer.Thumbprint;
        }
        else if (trustedXfcc is not null)
        {
            if (!XfccPolicy.TryGetForwardedPeer(trustedXfcc, out var forwarded))
            {
                // A trusted proxy sent an XFCC we cannot read: refuse rather than treat the caller as anonymous.
                return new PeerIdentity(null, null, Model.ReasonCodes.PeerCertificateInvalid + ":xfcc_unparsable", null);
            }
            identity = forwarded.Value;
        }

        return new PeerIdentity(identity, thumbprint, null, XfccPolicy.BuildUpstreamValue(trustedXfcc, peer, self));
    }
}
