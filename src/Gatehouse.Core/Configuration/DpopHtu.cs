using Gatehouse.Model;

namespace Gatehouse.Configuration;

/// <summary>An <c>htu</c> (RFC 9449 §4.2) split into its origin and its raw path (query and fragment dropped).</summary>
public readonly record struct DpopTarget(DpopOrigin Origin, string RawPath);

/// <summary>
/// The <c>htu</c> check (RFC 9449 §4.3 step 9): the claim must name the URI of the request, ignoring query and
/// fragment, after syntax- and scheme-based normalization (RFC 3986 §6.2.2 and §6.2.3: case of scheme and host,
/// default port, empty path as <c>/</c>). The path goes through the same <see cref="Routing.PathNormalizer"/> as
/// route matching and policy, so <c>/orders/%7E1/../7</c> in a proof equals a request for <c>/orders/7</c>,
/// and an ambiguous path (encoded <c>/</c>) in a proof never matches.
/// </summary>
public static class DpopHtu
{
    /// <summary>Parses an absolute http(s) URI; false (with a reason) for anything else, or a URI with userinfo.</summary>
    public static bool TryParse(string? htu, out DpopTarget target, out string problem)
    {
        target = default;
        if (!TryParse(htu.AsSpan(), out var parts, out problem))
        {
            return false;
        }

        target = new DpopTarget(
            new DpopOrigin(parts.Scheme, AuthorizationRequest.NormalizeHost(parts.Host.ToString()), parts.Port),
            parts.RawPath.IsEmpty ? "/" : parts.RawPath.ToString());
        return true;
    }

    /// <summary>
    /// The same parse without allocating (the DPoP proof check's hot path): the parts are slices of
    /// <paramref name="htu"/>; <see cref="HtuParts.Host"/> is not yet normalized and <see cref="HtuParts.RawPath"/> is
    /// empty for an empty path (meaning <c>/</c>).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> htu, out HtuParts parts, out string problem)
    {
        parts = default;
        problem = "";
        if (htu.IsEmpty || htu.Length > 8192)
        {
            problem = "empty or too long";
            return false;
        }

        var schemeEnd = htu.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            problem = "not an absolute URI";
            return false;
        }

        // Note: ASCII case-insensitive is what ToLowerInvariant + ordinal gave: no non-ASCII character lower-cases
        // to a letter of "http" or "https".
        string scheme;
        int defaultPort;
        if (System.Text.Ascii.EqualsIgnoreCase(htu[..schemeEnd], "https"))
        {
            scheme = "https";
            defaultPort = 443;
        }
        else if (System.Text.Ascii.EqualsIgnoreCase(htu[..schemeEnd], "http"))
        {
            scheme = "http";
            defaultPort = 80;
        }
        else
        {
            problem = "the scheme is not http or https";
            return false;
        }

        var rest = htu[(schemeEnd + 3)..];
        var authorityEnd = rest.IndexOfAny('/', '?', '#');
        var authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
        var afterAuthority = authorityEnd < 0 ? [] : rest[authorityEnd..];
        if (authority.IsEmpty || authority.Contains('@') || authority.Contains('%'))
        {
            problem = "the authority is empty, has userinfo or percent-encoding";
            return false;
        }

        ReadOnlySpan<char> host;
        ReadOnlySpan<char> portText = [];
        if (authority[0] == '[')
        {
            var close = authority.IndexOf(']');
            if (close < 0)
            {
                problem = "unterminated IPv6 literal";
                return false;
            }

            host = authority[..(close + 1)];
            var tail = authority[(close + 1)..];
            if (!tail.IsEmpty)
            {
                if (tail[0] != ':')
                {
                    problem = "junk after the IPv6 literal";
                    return false;
                }

                portText = tail[1..];
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? [] : authority[(colon + 1)..];
        }

        var port = defaultPort;
        if (!portText.IsEmpty)
        {
            // RFC 3986 §3.2.3: port = *DIGIT; an empty port after ':' means the default (§6.2.3).
            if (portText.Length > 5 || portText.ContainsAnyExceptInRange('0', '9') || !int.TryParse(portText, out port) || port is 0 or > 65535)
            {
                problem = "invalid port";
                return false;
            }
        }

        if (host.IsEmpty)
        {
            problem = "empty host";
            return false;
        }

        var path = afterAuthority;
        var end = path.IndexOfAny('?', '#');
        if (end >= 0)
        {
            path = path[..end];
        }

        parts = new HtuParts(scheme, host, port, path);
        return true;
    }
}

/// <summary>An <c>htu</c>'s parts as slices of it (see <see cref="DpopHtu.TryParse(ReadOnlySpan{char}, out HtuParts, out string)"/>).</summary>
public readonly ref struct HtuParts
{
    public HtuParts(string scheme, ReadOnlySpan<char> host, int port, ReadOnlySpan<char> rawPath)
    {
        Scheme = scheme;
        Host = host;
        Port = port;
        RawPath = rawPath;
    }

    /// <summary><c>http</c> or <c>https</c>.</summary>
    public string Scheme { get; }

    /// <summary>The host as written (not yet normalized).</summary>
    public ReadOnlySpan<char> Host { get; }

    /// <summary>The port, default ports made explicit.</summary>
    public int Port { get; }

    /// <summary>The raw path without query and fragment; empty means <c>/</c>.</summary>
    public ReadOnlySpan<char> RawPath { get; }
}

/// <summary>A URI origin (RFC 6454 §4): lower-case scheme and host, and the port (default ports made explicit).</summary>
public readonly record struct DpopOrigin(string Scheme, string Host, int Port);
