using Gatehouse.Identity.Certificates;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Tls;

/// <summary>
/// The verified client certificate of a connection, set once per TLS handshake by <see cref="TlsListenerConfigurator"/>
/// in the connection's features (so every request on the connection, HTTP/1.1 or HTTP/2, sees the same result
/// without re-validating).
/// </summary>
public interface IPeerIdentityFeature
{
    /// <summary>The validation result; always valid (an invalid certificate fails the handshake).</summary>
    PeerCertificateResult Result { get; }
}

/// <summary>Default <see cref="IPeerIdentityFeature"/>.</summary>
public sealed class PeerIdentityFeature(PeerCertificateResult result) : IPeerIdentityFeature
{
    /// <inheritdoc />
    public PeerCertificateResult Result { get; } = result;

    /// <summary>
    /// The verified peer certificate of the request's connection, or null when the connection is not TLS, the
    /// listener does not ask for client certificates, or the client sent none on an <c>optional</c> listener
    /// (anonymous). Never an invalid result.
    /// </summary>
    public static PeerCertificateResult? GetPeerIdentity(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IPeerIdentityFeature>()?.Result is { IsValid: true } result ? result : null;
    }
}

/// <summary><see cref="HttpContext"/> accessors for the peer identity.</summary>
public static class PeerIdentityHttpContextExtensions
{
    /// <inheritdoc cref="PeerIdentityFeature.GetPeerIdentity(HttpContext)"/>
    public static PeerCertificateResult? GetPeerIdentity(this HttpContext context) => PeerIdentityFeature.GetPeerIdentity(context);
}
