using System.Text;

namespace Gatehouse.Audit;

/// <summary>
/// The query string as the audit record keeps it (<c>audit.include_query: true</c>): every parameter value that is
/// or holds a credential is replaced by <c>REDACTED</c>. A value is redacted when its parameter name looks like a
/// credential (<c>access_token</c>, <c>code</c>, <c>client_secret</c>…), or when the value — raw or after any number
/// of percent-decodings up to a bound — contains a JWT/JWS/JWE compact serialization <b>anywhere</b>: a token behind
/// <c>Bearer%20</c>, inside an encoded redirect URL (<c>redirect=…%3Fid_token%3D&lt;jwt&gt;</c>), or with its dots
/// encoded (<c>%2E</c>, <c>%252E</c>). Over-redaction is the safe failure: a value still encoded after the bound is
/// redacted too.
/// </summary>
internal static class QueryRedactor
{
    internal const string Redacted = "REDACTED";

    /// <summary>
    /// Percent-decoding rounds tried on one name or value. Note: each round is linear, so the cost is bounded; a value
    /// that still changes after the last round (encoded more deeply than any real client does) is redacted.
    /// </summary>
    internal const int MaxDecodingRounds = 4;

    // Note: substring match on the decoded, lower-cased parameter name; over-redaction is the safe failure.
    private static readonly string[] s_sensitiveNameParts =
    [
        "token", "code", "secret", "password", "passwd", "pwd", "key", "sig", "assertion", "credential", "auth",
        "session", "cookie", "jwt", "otp", "nonce",
    ];

    public static string? Redact(string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return null;
        }

        var span = query.AsSpan();
        if (span[0] == '?')
        {
            span = span[1..];
        }

        if (span.IsEmpty)
        {
            return null;
        }

        var builder = new StringBuilder(query.Length);
        builder.Append('?');
        var first = true;
        while (!span.IsEmpty)
        {
            var amp = span.IndexOf('&');
            var pair = amp < 0 ? span : span[..amp];
            span = amp < 0 ? [] : span[(amp + 1)..];
            if (!first)
            {
                builder.Append('&');
            }

            first = false;
            var eq = pair.IndexOf('=');
            if (eq < 0)
            {
                // A bare parameter (`?<jwt>`) is a value too.
                builder.Append(HoldsCredential(pair) ? Redacted : pair);
                continue;
            }

            var name = pair[..eq];
            var value = pair[(eq + 1)..];
            builder.Append(HoldsCredential(name) ? Redacted : name).Append('=');
            builder.Append(IsSensitiveName(name) || HoldsCredential(value) ? Redacted : value);
        }

        return builder.ToString();
    }

    private static bool IsSensitiveName(ReadOnlySpan<char> rawName)
    {
        foreach (var form in DecodedForms(rawName.ToString()))
        {
            if (form is null)
            {
                return true;
            }

            var lower = form.ToLowerInvariant();
            foreach (var part in s_sensitiveNameParts)
            {
                if (lower.Contains(part, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>True when the text, raw or decoded, contains a JOSE compact serialization (or cannot be decoded within the bound).</summary>
    internal static bool HoldsCredential(ReadOnlySpan<char> raw)
    {
        foreach (var form in DecodedForms(raw.ToString()))
        {
            if (form is null || ContainsCompactJose(form))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The raw text, then each percent-decoding of it (<c>+</c> read as a space, as forms encode it) until it stops
    /// changing; a null last item means it was still changing after <see cref="MaxDecodingRounds"/>.
    /// </summary>
    private static IEnumerable<string?> DecodedForms(string text)
    {
        yield return text;
        for (var round = 0; round < MaxDecodingRounds; round++)
        {
            if (!text.Contains('%', StringComparison.Ordinal) && !text.Contains('+', StringComparison.Ordinal))
            {
                yield break;
            }

            // Note: Uri.UnescapeDataString never throws; an invalid escape or invalid UTF-8 stays as it was.
            var decoded = Uri.UnescapeDataString(text.Replace('+', ' '));
            if (decoded == text)
            {
                yield break;
            }

            text = decoded;
            yield return text;
        }

        if (text.Contains('%', StringComparison.Ordinal) && Uri.UnescapeDataString(text) != text)
        {
            yield return null;
        }
    }

    /// <summary>
    /// A JWS/JWE compact serialization anywhere in <paramref name="text"/> (RFC 7515 §7.1, RFC 7516 §7.1): a base64url
    /// run that decodes to a JSON object with a member (the JOSE header: <c>{"</c>, whitespace allowed), a <c>.</c>,
    /// another base64url run (possibly empty), and a <c>.</c>. The header may start inside a longer run
    /// (<c>xeyJ…</c>), so every <c>e</c> of a run is tried.
    /// </summary>
    internal static bool ContainsCompactJose(string text)
    {
        for (var i = 0; i + 1 < text.Length; i++)
        {
            if (text[i] != 'e' || text[i + 1] is not ('y' or 'w'))
            {
                continue;
            }

            var headerEnd = i;
            while (headerEnd < text.Length && IsBase64Url(text[headerEnd]))
            {
                headerEnd++;
            }

            if (headerEnd - i < 16 || headerEnd >= text.Length || text[headerEnd] != '.')
            {
                continue;
            }

            var payloadEnd = headerEnd + 1;
            while (payloadEnd < text.Length && IsBase64Url(text[payloadEnd]))
            {
                payloadEnd++;
            }

            if (payloadEnd < text.Length && text[payloadEnd] == '.' && IsJoseHeaderStart(text.AsSpan(i, 16)))
            {
                return true;
            }
        }

        return false;
    }

    // 16 base64url characters are 12 bytes: enough for `{` + whitespace + `"`.
    private static bool IsJoseHeaderStart(ReadOnlySpan<char> base64Url)
    {
        Span<char> standard = stackalloc char[16];
        for (var i = 0; i < 16; i++)
        {
            standard[i] = base64Url[i] switch { '-' => '+', '_' => '/', var c => c };
        }

        Span<byte> bytes = stackalloc byte[12];
        if (!Convert.TryFromBase64Chars(standard, bytes, out var written) || written < 2 || bytes[0] != (byte)'{')
        {
            return false;
        }

        var j = 1;
        while (j < written && bytes[j] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            j++;
        }

        return j < written && bytes[j] == (byte)'"';
    }

    private static bool IsBase64Url(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_';
}
