namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// Envoy's <c>x-forwarded-client-cert</c> (XFCC): comma-separated elements, each <c>;</c>-separated key=value
/// pairs, values optionally double-quoted (Envoy docs "x-forwarded-client-cert"). The last element is the one the
/// nearest (trusted) Envoy added.
/// </summary>
internal static class ForwardedClientCert
{
    public static (string? PeerIdentity, string? Thumbprint) Parse(string header)
    {
        var element = LastElement(header.AsSpan());
        string? identity = null;
        string? thumbprint = null;
        string? certificate = null;
        while (!element.IsEmpty)
        {
            var pair = NextToken(ref element, ';');
            var equals = pair.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }

            var key = pair[..equals].Trim();
            var value = Unquote(pair[(equals + 1)..].Trim());
            if (key.Equals("URI", StringComparison.OrdinalIgnoreCase) && identity is null)
            {
                identity = PeerCertificates.SpiffeIdOrNull(value.ToString());
            }
            else if (key.Equals("Hash", StringComparison.OrdinalIgnoreCase))
            {
                thumbprint = PeerCertificates.ThumbprintFromHexHash(value);
            }
            else if (key.Equals("Cert", StringComparison.OrdinalIgnoreCase))
            {
                certificate = value.ToString();
            }
        }

        thumbprint ??= PeerCertificates.ThumbprintFromUrlEncodedPem(certificate);
        return (identity, thumbprint);
    }

    private static ReadOnlySpan<char> LastElement(ReadOnlySpan<char> header)
    {
        // A comma inside a quoted value does not separate elements.
        var inQuotes = false;
        var start = 0;
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i] == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (header[i] == ',' && !inQuotes)
            {
                start = i + 1;
            }
        }

        return header[start..].Trim();
    }

    private static ReadOnlySpan<char> NextToken(ref ReadOnlySpan<char> rest, char separator)
    {
        var inQuotes = false;
        for (var i = 0; i < rest.Length; i++)
        {
            if (rest[i] == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (rest[i] == separator && !inQuotes)
            {
                var token = rest[..i];
                rest = rest[(i + 1)..];
                return token;
            }
        }

        var last = rest;
        rest = default;
        return last;
    }

    private static ReadOnlySpan<char> Unquote(ReadOnlySpan<char> value) =>
        value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
}
