using System.Buffers;
using System.Text;

namespace Gatehouse.Http;

/// <summary>
/// The one encoder for every header value Gatehouse writes, upstream or back to the client (design.md "Security
/// invariants"): XFCC parts, claim headers, reason headers, challenges, trace context, forwarded addresses, and
/// anything taken from a certificate or a token. A field value is octets on the wire (RFC 9110 §5.5); a CR or LF
/// copied into one splits the message, and a certificate subject or a claim is attacker-chosen text. So nothing
/// outside visible ASCII and SP ever leaves Gatehouse in a header: each value is either <b>encoded</b> (the
/// <c>Encode*</c> methods: UTF-8 percent-encoding, RFC 3986 §2.1 style, so the original stays recoverable) or
/// <b>refused</b> (<see cref="CheckedOrNull"/>: a value with its own grammar that encoding would corrupt — trace
/// context, a forwarded host — is dropped instead). docs/security.md "Header values" lists the choice per header.
/// </summary>
/// <remarks>
/// Every method returns the same string instance, without allocating, when nothing needs encoding: a scan with a
/// vectorized <see cref="SearchValues{T}"/>. Encoding happens only for hostile or unusual values.
/// </remarks>
public static class HeaderValues
{
    // Visible ASCII (%x21-7E) and SP: RFC 9110 §5.5 field-vchar without obs-text, and no HTAB. Note: HTAB is allowed
    // by RFC 9110 but it is a control character, and the invariant is "no control character ever leaves".
    private static readonly SearchValues<char> s_safe = Allowed(exclude: "");

    // Text: '%' is the escape character, so it is encoded too (a literal "%0D" and an encoded CR must differ).
    private static readonly SearchValues<char> s_text = Allowed(exclude: "%");

    // One element of a comma-separated list (claim arrays): ',' inside an element would split it.
    private static readonly SearchValues<char> s_listElement = Allowed(exclude: "%,");

    // RFC 6750 §3 error_description / scope: %x20-21 / %x23-5B / %x5D-7E (no '"', no '\').
    private static readonly SearchValues<char> s_authParam = Allowed(exclude: "%\"\\");

    // Envoy's XFCC: a value containing one of these is double-quoted, with '"' (and '\') backslash-escaped.
    private static readonly SearchValues<char> s_xfccSpecial = SearchValues.Create(",;=\"\\");

    private static readonly char[] s_hex = "0123456789ABCDEF".ToCharArray();

    /// <summary>True when every character is visible ASCII or SP: the value can be written as it is.</summary>
    public static bool IsSafe(ReadOnlySpan<char> value) => !value.ContainsAnyExcept(s_safe);

    /// <summary>
    /// The refusal rule: <paramref name="value"/> itself when it is safe (<see cref="IsSafe"/>), otherwise null — the
    /// caller then sends no such header. For values with their own grammar (W3C <c>tracestate</c>,
    /// <c>x-forwarded-host</c>, a trusted inbound XFCC) that percent-encoding would silently change.
    /// </summary>
    public static string? CheckedOrNull(string? value) => value is not null && IsSafe(value) ? value : null;

    /// <summary>
    /// Free text (reason codes with their detail, claim scalars, certificate names): every character outside
    /// visible ASCII and SP, <c>%</c> itself, and a leading or trailing SP (which a recipient would trim as OWS,
    /// RFC 9110 §5.5) become <c>%XX</c> of their UTF-8 bytes.
    /// </summary>
    public static string EncodeText(string value) => Encode(value, s_text, encodeEdgeSpaces: true);

    /// <summary>One element of a comma-separated list: as <see cref="EncodeText"/>, and <c>,</c> becomes <c>%2C</c>.</summary>
    public static string EncodeListElement(string value) => Encode(value, s_listElement, encodeEdgeSpaces: true);

    /// <summary>
    /// The content of an RFC 6750 §3 quoted auth-param (<c>error_description</c>, <c>scope</c>): as
    /// <see cref="EncodeText"/>, and <c>"</c> and <c>\</c> become <c>%22</c> and <c>%5C</c>, which the grammar forbids.
    /// </summary>
    public static string EncodeAuthParam(string value) => Encode(value, s_authParam, encodeEdgeSpaces: false);

    /// <summary>
    /// One value of an XFCC element (Envoy's <c>x-forwarded-client-cert</c>): first every character outside visible
    /// ASCII and SP becomes <c>%XX</c> of its UTF-8 bytes (so a CR/LF in a certificate subject becomes <c>%0D%0A</c>,
    /// as Envoy URL-encodes <c>Cert=</c>), then Envoy's quoting — double-quoted when the value contains <c>,</c>
    /// <c>;</c> <c>=</c> <c>"</c> or <c>\</c>, starts or ends with SP, is empty, or when <paramref name="forceQuotes"/>;
    /// <c>"</c> and <c>\</c> inside are written <c>\"</c> and <c>\\</c>.
    /// </summary>
    /// <remarks>
    /// Note: <c>%</c> itself is kept, as Envoy keeps it in <c>Subject=</c>, so a value written by Envoy and one written
    /// here read the same; a subject that already contains a literal <c>%0D</c> is then indistinguishable from an
    /// encoded CR, which is harmless: the subject is informational, identity is <c>URI=</c> (a validated SPIFFE ID)
    /// and <c>Hash=</c>.
    /// </remarks>
    public static string EncodeXfccValue(string value, bool forceQuotes)
    {
        ArgumentNullException.ThrowIfNull(value);
        // Note: s_safe, not s_text: '%' and edge spaces stay as they are (quoting keeps the spaces), as Envoy does.
        var text = Encode(value, s_safe, encodeEdgeSpaces: false);
        if (!forceQuotes && text.Length > 0 && text[0] != ' ' && text[^1] != ' ' && !text.AsSpan().ContainsAny(s_xfccSpecial))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 8).Append('"');
        foreach (var c in text)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.Append('"').ToString();
    }

    /// <summary>Reverses the percent-encoding of the <c>Encode*</c> methods (tests and tools; never on the hot path).</summary>
    public static string Decode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Contains('%', StringComparison.Ordinal) ? Uri.UnescapeDataString(value) : value;
    }

    private static string Encode(string value, SearchValues<char> allowed, bool encodeEdgeSpaces)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0)
        {
            return value;
        }

        var first = value.AsSpan().IndexOfAnyExcept(allowed);
        if (first < 0 && (!encodeEdgeSpaces || (value[0] != ' ' && value[^1] != ' ')))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length;)
        {
            // Note: a lone surrogate (not valid UTF-16) is encoded as U+FFFD (EF BF BD).
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var consumed) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
                consumed = 1;
            }

            var edgeSpace = encodeEdgeSpaces && rune.Value == ' ' && (i == 0 || i + consumed == value.Length);
            if (rune.IsAscii && allowed.Contains((char)rune.Value) && !edgeSpace)
            {
                builder.Append((char)rune.Value);
            }
            else
            {
                var written = rune.EncodeToUtf8(utf8);
                for (var b = 0; b < written; b++)
                {
                    builder.Append('%').Append(s_hex[utf8[b] >> 4]).Append(s_hex[utf8[b] & 0xF]);
                }
            }

            i += consumed;
        }

        return builder.ToString();
    }

    private static SearchValues<char> Allowed(string exclude)
    {
        var chars = new List<char>(96);
        for (var c = (char)0x20; c <= (char)0x7E; c++)
        {
            if (!exclude.Contains(c, StringComparison.Ordinal))
            {
                chars.Add(c);
            }
        }

        return SearchValues.Create(chars.ToArray());
    }
}
