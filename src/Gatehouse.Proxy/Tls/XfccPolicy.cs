using System.Diagnostics.CodeAnalysis;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Tls;

/// <summary>
/// The trust rule for <c>x-forwarded-client-cert</c> (design.md "Life of a request" steps 2, 3 and 8): an inbound XFCC
/// header is believed only on a listener marked <c>trust_forwarded_client_cert</c> (behind a trusted proxy that
/// sanitizes it); everywhere else it is removed before anything reads it. Upstream, Gatehouse sends the identity it
/// verified itself, in Envoy's format.
/// </summary>
public static class XfccPolicy
{
    /// <summary>
    /// Applies the trust rule to an inbound request: removes XFCC unless <paramref name="trustForwardedClientCert"/>.
    /// Returns the trusted inbound value (null when none or not trusted). Several XFCC header lines are joined with
    /// <c>,</c> (RFC 9110 §5.3), which is also XFCC's element separator.
    /// </summary>
    public static string? SanitizeInbound(IHeaderDictionary headers, bool trustForwardedClientCert)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (!headers.TryGetValue(Xfcc.HeaderName, out var values))
        {
            return null;
        }

        if (!trustForwardedClientCert)
        {
            headers.Remove(Xfcc.HeaderName);
            return null;
        }

        var joined = string.Join(',', values.Where(v => !string.IsNullOrWhiteSpace(v)));
        return joined.Length == 0 ? null : joined;
    }

    /// <summary>
    /// The peer SPIFFE ID from a trusted XFCC value: the <c>URI</c> of the last element (the nearest proxy's view of
    /// its client). False when the header is malformed, the URI is missing or ambiguous, or not a SPIFFE ID.
    /// </summary>
    public static bool TryGetForwardedPeer(string? trustedXfcc, [NotNullWhen(true)] out SpiffeId? peer)
    {
        peer = null;
        var parsed = Xfcc.Parse(trustedXfcc);
        return parsed.Success && SpiffeId.TryParse(parsed.Nearest?.Uri, out peer);
    }

    /// <summary>
    /// The XFCC value to send upstream (Envoy <c>SANITIZE_SET</c>, or <c>APPEND_FORWARD</c> on trusted listeners):
    /// the trusted inbound value (if any) followed by an element for this hop's verified peer — <c>By</c> = our own
    /// SPIFFE ID, <c>Hash</c> = hex SHA-256 of the peer certificate, <c>Subject</c>, <c>URI</c> = the peer's SPIFFE
    /// ID. Null means: send no XFCC header (remove it).
    /// </summary>
    public static string? BuildUpstreamValue(string? trustedInbound, PeerCertificateResult? peer, SpiffeId? self)
    {
        if (peer is not { IsValid: true })
        {
            return string.IsNullOrWhiteSpace(trustedInbound) ? null : trustedInbound;
        }

        var element = new XfccElement
        {
            By = self?.Value,
            Hash = peer.HashHex,
            Subject = peer.Subject,
            Uris = [peer.Identity.Value],
        };
        return Xfcc.Append(trustedInbound, element);
    }
}
