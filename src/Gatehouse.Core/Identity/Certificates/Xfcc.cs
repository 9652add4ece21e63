using System.Diagnostics.CodeAnalysis;
using System.Text;
using Gatehouse.Http;

namespace Gatehouse.Identity.Certificates;

/// <summary>
/// One element of an <c>x-forwarded-client-cert</c> header: what one proxy saw of its client's certificate
/// (Envoy's format, "x-forwarded-client-cert" in Envoy's HTTP header manipulation docs).
/// </summary>
public sealed record XfccElement
{
    /// <summary>The SPIFFE ID (URI SAN) of the proxy's own certificate (<c>By=</c>).</summary>
    public string? By { get; init; }
    /// <summary>Lower-case hex SHA-256 of the client certificate's DER (<c>Hash=</c>).</summary>
    public string? Hash { get; init; }
    /// <summary>URL-encoded PEM of the client certificate (<c>Cert=</c>), when the proxy forwards it.</summary>
    public string? Cert { get; init; }
    /// <summary>URL-encoded PEM of the client's chain (<c>Chain=</c>).</summary>
    public string? Chain { get; init; }
    /// <summary>The client certificate's subject (<c>Subject=</c>, always quoted by Envoy).</summary>
    public string? Subject { get; init; }
    /// <summary>URI SANs of the client certificate (<c>URI=</c>, may repeat).</summary>
    public IReadOnlyList<string> Uris { get; init; } = [];
    /// <summary>DNS SANs of the client certificate (<c>DNS=</c>, may repeat).</summary>
    public IReadOnlyList<string> Dns { get; init; } = [];

    /// <summary>The client's single URI SAN (its SPIFFE ID); null when there is none or more than one.</summary>
    public string? Uri => Uris.Count == 1 ? Uris[0] : null;
}

/// <summary>The outcome of <see cref="Xfcc.Parse"/>.</summary>
public sealed record XfccParseResult(IReadOnlyList<XfccElement> Elements, string? Error)
{
    /// <summary>True when the whole header parsed.</summary>
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Success => Error is null;

    /// <summary>The element added by the nearest proxy (the last one), or null.</summary>
    public XfccElement? Nearest => Elements.Count > 0 ? Elements[^1] : null;
}

/// <summary>
/// Formats and parses Envoy's <c>x-forwarded-client-cert</c> header: comma-separated elements, one per proxy, the
/// nearest proxy's last; each element is <c>;</c>-separated <c>Key=Value</c> pairs with case-insensitive keys;
/// a value containing <c>,</c> <c>;</c> or <c>=</c> is double-quoted, with <c>"</c> inside written <c>\"</c>.
/// Values are written through <see cref="HeaderValues.EncodeXfccValue"/>: no control character ever reaches a header.
/// </summary>
public static class Xfcc
{
    /// <summary>The header name.</summary>
    public const string HeaderName = "x-forwarded-client-cert";

    /// <summary>Headers longer than this are rejected by <see cref="Parse"/>.</summary>
    public const int MaxHeaderLength = 64 * 1024;

    /// <summary>Formats one element with the fields Gatehouse sends (By, Hash, Subject, URI), skipping nulls.</summary>
    public static string Format(string? by, string? hash, string? uri, string? subject = null)
        => Format(new XfccElement { By = by, Hash = hash, Subject = subject, Uris = uri is null ? [] : [uri] });

    /// <summary>Formats one element in Envoy's key order (By, Hash, Cert, Chain, Subject, URI, DNS).</summary>
    public static string Format(XfccElement element)
    {
        ArgumentNullException.ThrowIfNull(element);
        var builder = new StringBuilder();
        Append(builder, "By", element.By, forceQuotes: false);
        Append(builder, "Hash", element.Hash, forceQuotes: false);
        Append(builder, "Cert", element.Cert, forceQuotes: false);
        Append(builder, "Chain", element.Chain, forceQuotes: false);
        // Note: Envoy always quotes Subject (distinguished names contain ',' and '=').
        Append(builder, "Subject", element.Subject, forceQuotes: true);
        foreach (var uri in element.Uris)
        {
            Append(builder, "URI", uri, forceQuotes: false);
        }

        foreach (var dns in element.Dns)
        {
            Append(builder, "DNS", dns, forceQuotes: false);
        }

        return builder.ToString();
    }

    /// <summary>Formats several elements, nearest proxy last.</summary>
    public static string Format(IEnumerable<XfccElement> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        return string.Join(',', elements.Select(Format));
    }

    /// <summary>Parses a header value into its elements. Never throws; a malformed header yields an error.</summary>
    public static XfccParseResult Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return new XfccParseResult([], "empty");
        }

        if (header.Length > MaxHeaderLength)
        {
            return new XfccParseResult([], "too_long");
        }

        // A control character (or non-ASCII) has no place in a header value; Gatehouse never writes one.
        if (!HeaderValues.IsSafe(header))
        {
            return new XfccParseResult([], "control_character");
        }

        var elements = new List<XfccElement>();
        var current = new ElementBuilder();
        var i = 0;
        while (true)
        {
            // key
            SkipSpaces(header, ref i);
            var keyStart = i;
            while (i < header.Length && header[i] is not ('=' or ';' or ',' or '"'))
            {
                i++;
            }

            var key = header[keyStart..i].Trim();
            if (key.Length == 0 || i >= header.Length || header[i] != '=')
            {
                return new XfccParseResult([], $"expected key=value at offset {keyStart}");
            }

            i++; // '='
            string value;
            if (i < header.Length && header[i] == '"')
            {
                i++;
                var builder = new StringBuilder();
                var closed = false;
                while (i < header.Length)
                {
                    var c = header[i++];
                    if (c == '\\' && i < header.Length)
                    {
                        builder.Append(header[i++]);
                    }
                    else if (c == '"')
                    {
                        closed = true;
                        break;
                    }
                    else
                    {
                        builder.Append(c);
                    }
                }

                if (!closed)
                {
                    return new XfccParseResult([], "unterminated quoted value");
                }

                value = builder.ToString();
                SkipSpaces(header, ref i);
                if (i < header.Length && header[i] is not (';' or ','))
                {
                    return new XfccParseResult([], $"unexpected character after quoted value at offset {i}");
                }
            }
            else
            {
                var valueStart = i;
                while (i < header.Length && header[i] is not (';' or ','))
                {
                    if (header[i] is '"' or '=')
                    {
                        return new XfccParseResult([], $"unquoted value contains '{header[i]}' at offset {i}");
                    }

                    i++;
                }

                value = header[valueStart..i].Trim();
            }

            if (current.Add(key, value) is { } error)
            {
                return new XfccParseResult([], error);
            }

            if (i >= header.Length)
            {
                elements.Add(current.Build());
                return new XfccParseResult(elements, null);
            }

            if (header[i++] == ',')
            {
                elements.Add(current.Build());
                current = new ElementBuilder();
            }
        }
    }

    /// <summary>
    /// Appends <paramref name="element"/> to an existing header value (or starts one), Envoy APPEND_FORWARD. An
    /// existing value with a control or non-ASCII character is refused (dropped, <see cref="HeaderValues.CheckedOrNull"/>):
    /// it is another proxy's text, which Gatehouse cannot re-encode without changing what it says.
    /// </summary>
    public static string Append(string? existing, XfccElement element)
    {
        existing = HeaderValues.CheckedOrNull(existing);
        return string.IsNullOrWhiteSpace(existing) ? Format(element) : existing + "," + Format(element);
    }

    private static void SkipSpaces(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t')
        {
            i++;
        }
    }

    private static void Append(StringBuilder builder, string key, string? value, bool forceQuotes)
    {
        if (value is null)
        {
            return;
        }

        if (builder.Length > 0)
        {
            builder.Append(';');
        }

        // The one header-value encoder: control characters and non-ASCII percent-encoded, then Envoy's quoting.
        builder.Append(key).Append('=').Append(HeaderValues.EncodeXfccValue(value, forceQuotes));
    }

    private sealed class ElementBuilder
    {
        private readonly List<string> _uris = [];
        private readonly List<string> _dns = [];
        private string? _by;
        private string? _hash;
        private string? _cert;
        private string? _chain;
        private string? _subject;

        public string? Add(string key, string value)
        {
            switch (key.ToUpperInvariant())
            {
                case "URI":
                    _uris.Add(value);
                    return null;
                case "DNS":
                    _dns.Add(value);
                    return null;
                case "BY":
                    return Set(ref _by, value, key);
                case "HASH":
                    return Set(ref _hash, value, key);
                case "CERT":
                    return Set(ref _cert, value, key);
                case "CHAIN":
                    return Set(ref _chain, value, key);
                case "SUBJECT":
                    return Set(ref _subject, value, key);
                default:
                    // Unknown keys are ignored, for forward compatibility with newer Envoy fields.
                    return null;
            }
        }

        public XfccElement Build() => new()
        {
            By = _by,
            Hash = _hash,
            Cert = _cert,
            Chain = _chain,
            Subject = _subject,
            Uris = _uris.ToArray(),
            Dns = _dns.ToArray(),
        };

        private static string? Set(ref string? field, string value, string key)
        {
            if (field is not null)
            {
                return $"duplicate key {key}";
            }

            field = value;
            return null;
        }
    }
}
