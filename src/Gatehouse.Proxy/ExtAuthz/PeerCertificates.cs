using System.Buffers.Text;
using System.Security.Cryptography;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>Peer identity helpers shared by the gRPC and HTTP adapters.</summary>
internal static class PeerCertificates
{
    /// <summary>
    /// The peer's SPIFFE ID when <paramref name="principal"/> is a valid one (SPIFFE-ID §2: no dot or empty segments,
    /// a lower-case trust domain), else null: a malformed ID is no workload identity (fail closed), and would
    /// otherwise match principal globs such as <c>spiffe://td/ns/foo/*</c> with <c>spiffe://td/ns/foo/../bar</c>.
    /// </summary>
    public static string? SpiffeIdOrNull(string? principal) =>
        principal is not null && principal.StartsWith("spiffe://", StringComparison.OrdinalIgnoreCase)
            && SpiffeId.TryParse(principal, out var id, out _)
            ? id.Value
            : null;

    /// <summary>
    /// Thumbprint (SHA-256 of DER, base64url; RFC 8705 §3.1 <c>x5t#S256</c>) of the first certificate in a
    /// URL-encoded PEM string, as Envoy sends it in <c>AttributeContext.Peer.certificate</c> and in the XFCC
    /// <c>Cert</c> element. Null when the value holds no certificate.
    /// </summary>
    public static string? ThumbprintFromUrlEncodedPem(string? urlEncodedPem)
    {
        if (string.IsNullOrEmpty(urlEncodedPem))
        {
            return null;
        }

        string pem;
        try
        {
            pem = Uri.UnescapeDataString(urlEncodedPem);
        }
        catch (UriFormatException)
        {
            return null;
        }

        var text = pem.AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            if (text[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(text[fields.Base64Data], der, out var written))
                {
                    return null;
                }

                return ThumbprintOfDer(der.AsSpan(0, written));
            }

            text = text[fields.Location.End..];
        }

        return null;
    }

    /// <summary>Base64url SHA-256 of DER bytes.</summary>
    public static string ThumbprintOfDer(ReadOnlySpan<byte> der)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(der, hash);
        return Base64Url.EncodeToString(hash);
    }

    /// <summary>An XFCC <c>Hash</c> (hex SHA-256 of DER) as a base64url thumbprint, or null if it is not 64 hex chars.</summary>
    public static string? ThumbprintFromHexHash(ReadOnlySpan<char> hex)
    {
        if (hex.Length != 64)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        return Convert.FromHexString(hex, hash, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32
            ? Base64Url.EncodeToString(hash)
            : null;
    }

    /// <summary>The 32 hex trace id of a W3C <c>traceparent</c> (version-traceid-parentid-flags), or null.</summary>
    public static string? TraceIdFromTraceparent(string? traceparent)
    {
        if (traceparent is null || traceparent.Length < 55 || traceparent[2] != '-' || traceparent[35] != '-')
        {
            return null;
        }

        var id = traceparent.AsSpan(3, 32);
        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return null;
            }
        }

        return id.ContainsAnyExcept('0') ? id.ToString() : null;
    }
}
