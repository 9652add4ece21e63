using System.Diagnostics.CodeAnalysis;
using System.Net;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;

namespace Gatehouse.Decisions.Explain;

/// <summary>
/// Builds the <see cref="AuthorizationRequest"/> a request described by hand would arrive as ('METHOD URL', headers,
/// an optional token and peer identity): the input of <c>gatehouse explain</c> and of the console's explain form.
/// Bad input is reported as a value with a message for the person who typed it.
/// </summary>
public static class ExplainRequest
{
    /// <param name="requestLine">'METHOD URL' with an absolute http(s) URL; the path keeps its percent-encoding.</param>
    /// <param name="headers">Request headers (case-insensitive names); a token adds <c>Authorization: Bearer</c>.</param>
    /// <param name="token">The access token to present, or null.</param>
    /// <param name="peer">The peer's verified SPIFFE ID, as if presented over mTLS, or null.</param>
    /// <param name="source">The source IP address, or null.</param>
    /// <param name="listener">Decide as this listener would (its route list), or null.</param>
    /// <param name="request">The request, when the input is valid.</param>
    /// <param name="error">Why the input is not valid, for the person who typed it, prefixed by the field at fault
    /// (<c>request:</c>, <c>peer:</c>, <c>source:</c>) so each host can name it its own way.</param>
    public static bool TryCreate(
        string requestLine,
        IReadOnlyDictionary<string, string> headers,
        string? token,
        string? peer,
        string? source,
        string? listener,
        [NotNullWhen(true)] out AuthorizationRequest? request,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(requestLine);
        ArgumentNullException.ThrowIfNull(headers);
        request = null;
        var parts = requestLine.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !Uri.TryCreate(parts[1], UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
        {
            error = "request: must be 'METHOD URL' with an absolute http(s) URL";
            return false;
        }

        // Note: an identity Gatehouse could never have verified (a typo, a DNS name) would silently match no
        // principal rule and explain a decision the proxy never makes; refuse it like any other malformed input.
        if (peer is not null && !SpiffeId.TryParse(peer, out _, out var peerError))
        {
            error = $"peer: '{peer}' is not a SPIFFE ID ({peerError})";
            return false;
        }

        IPAddress? sourceAddress = null;
        if (source is not null && !IPAddress.TryParse(source, out sourceAddress))
        {
            error = $"source: '{source}' is not an IP address";
            return false;
        }

        var all = new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase);
        if (token is not null)
        {
            all["authorization"] = "Bearer " + token;
        }

        // The raw path as it would arrive on the wire (Uri keeps percent-encoding in OriginalString).
        var original = url.OriginalString;
        var authorityEnd = original.IndexOf('/', original.IndexOf("//", StringComparison.Ordinal) + 2);
        var target = authorityEnd < 0 ? "/" : original[authorityEnd..];
        var fragment = target.IndexOf('#', StringComparison.Ordinal);
        var question = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = question < 0 ? target : target[..question];
        var query = question < 0 ? "" : target[question..];
        if (fragment >= 0 && (question < 0 || fragment < question))
        {
            rawPath = target[..fragment] + "#" + (question < 0 ? target[(fragment + 1)..] : "");
        }

        request = new AuthorizationRequest
        {
            Method = parts[0].ToUpperInvariant(),
            Host = url.Host.ToLowerInvariant(),
            Port = url.Port,
            Scheme = url.Scheme,
            RawPath = rawPath,
            Query = query,
            GetHeader = name => all.TryGetValue(name, out var value) ? value : null,
            SourceAddress = sourceAddress,
            PeerIdentity = peer,
            Listener = listener,
        };
        error = null;
        return true;
    }
}
