using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Routing;

/// <summary>The result of <see cref="PathNormalizer.Normalize"/>: the normalized path, or why the path was refused.</summary>
/// <param name="Ok">True when <paramref name="Path"/> holds the normalized path.</param>
/// <param name="Path">The normalized path (matched and forwarded), or empty when refused.</param>
/// <param name="Reason"><see cref="ReasonCodes.PathInvalid"/> or <see cref="ReasonCodes.PathAmbiguous"/> when refused.</param>
/// <param name="Detail">A human-readable explanation when refused.</param>
public readonly record struct PathResult(bool Ok, string Path, string? Reason, string? Detail)
{
    internal static PathResult Success(string path) => new(true, path, null, null);
    internal static PathResult Invalid(string detail) => new(false, "", ReasonCodes.PathInvalid, detail);
    internal static PathResult Ambiguous(string detail) => new(false, "", ReasonCodes.PathAmbiguous, detail);
}

/// <summary>
/// Normalizes a request path once, so that the policy engine and the upstream see the same path
/// (design.md, "Security invariants"). The rules, in order:
/// <list type="number">
/// <item>Refuse (<c>request.path_invalid</c>): an empty or relative path, any character outside printable ASCII
/// (controls, space, DEL, raw non-ASCII), a raw backslash, a fragment <c>#</c>, a query <c>?</c> (hosts pass the path
/// without the query), a malformed percent escape, an encoded NUL or other encoded control character, and a
/// <c>..</c> segment that would climb above the root.</item>
/// <item>Refuse (<c>request.path_ambiguous</c>) when <see cref="PathNormalizationConfig.RejectEncodedSlash"/> (default):
/// <c>%2F</c>, <c>%5C</c> (CVE-2021-29492 class) and <c>%3B</c> (an encoded path-parameter delimiter that some
/// servers decode before splitting parameters); always refused: a dot segment carrying path parameters
/// (<c>..;x</c>, <c>.;x</c>), which Tomcat/Spring resolve as <c>..</c> and <c>.</c>.</item>
/// <item>Percent-decode unreserved characters only (RFC 3986 §2.3, §6.2.2.2); keep every other escape, upper-cased
/// (§6.2.2.1). Nothing is re-encoded.</item>
/// <item>Resolve <c>.</c> and <c>..</c> segments (RFC 3986 §5.2.4), after decoding, so <c>%2e%2e</c> is a dot segment.</item>
/// <item>Merge repeated slashes when <see cref="PathNormalizationConfig.MergeSlashes"/> (default).</item>
/// <item>Lower-case ASCII letters outside escapes when <see cref="PathNormalizationConfig.LowercasePaths"/>.</item>
/// </list>
/// <c>;</c> itself is an ordinary path character (RFC 3986 sub-delim): policies match it literally. See docs/policy.md.
/// Allocation-free when the path is already normal.
/// </summary>
public static class PathNormalizer
{
    /// <summary>Normalizes <paramref name="rawPath"/> (percent-encoded, without query) per <paramref name="options"/>.</summary>
    public static PathResult Normalize(string rawPath, PathNormalizationConfig options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(rawPath))
        {
            return PathResult.Invalid("empty path");
        }

        if (rawPath[0] != '/')
        {
            return PathResult.Invalid("path must start with '/'");
        }

        // Pass 1: validate and decide whether anything needs rewriting.
        var needsRewrite = false;
        var previous = '\0';
        for (var i = 0; i < rawPath.Length; i++)
        {
            var c = rawPath[i];
            switch (c)
            {
                case < '!' or > '~':
                    return PathResult.Invalid(c > '~' && c != '\x7f'
                        ? "non-ASCII character in path (must be percent-encoded)"
                        : $"control or space character 0x{(int)c:X2} in path");
                case '\\':
                    return PathResult.Invalid("backslash in path");
                case '#':
                    return PathResult.Invalid("fragment '#' in request target");
                case '?':
                    return PathResult.Invalid("'?' in path (query must be passed separately)");
                case '%':
                    {
                        if (i + 2 >= rawPath.Length || !IsHex(rawPath[i + 1]) || !IsHex(rawPath[i + 2]))
                        {
                            return PathResult.Invalid("malformed percent-encoding");
                        }

                        var value = (HexValue(rawPath[i + 1]) << 4) | HexValue(rawPath[i + 2]);
                        if (value == 0)
                        {
                            return PathResult.Invalid("encoded NUL (%00) in path");
                        }

                        if (value < 0x20 || value == 0x7f)
                        {
                            return PathResult.Invalid($"encoded control character %{value:X2} in path");
                        }

                        if (value is '/' or '\\' or ';' && options.RejectEncodedSlash)
                        {
                            return PathResult.Ambiguous($"encoded '{(char)value}' (%{value:X2}) in path");
                        }

                        // Decode unreserved; upper-case any lower-case hex digit.
                        needsRewrite |= IsUnreserved(value) || char.IsAsciiLetterLower(rawPath[i + 1]) || char.IsAsciiLetterLower(rawPath[i + 2]);
                        previous = '%';
                        i += 2;
                        continue;
                    }

                case '/':
                    needsRewrite |= previous == '/' && options.MergeSlashes;
                    break;
                case '.':
                    needsRewrite |= previous == '/';
                    break;
                case ';':
                    if (!options.AllowPathParameters)
                    {
                        // Servlet containers strip ";params" before routing: /admin;x/y reaches /admin/y, past a
                        // DENY on /admin/*. Refused unless paths.allow_path_parameters says the upstream does not.
                        return PathResult.Ambiguous("path parameter ';' in path (paths.allow_path_parameters is false)");
                    }

                    needsRewrite |= previous == '.'; // possible ".;" / "..;" segment: checked in pass 2
                    break;
                default:
                    needsRewrite |= options.LowercasePaths && char.IsAsciiLetterUpper(c);
                    break;
            }

            previous = c;
        }

        return needsRewrite ? Rewrite(rawPath, options) : PathResult.Success(rawPath);
    }

    private static PathResult Rewrite(string rawPath, PathNormalizationConfig options)
    {
        // Decode and case-fold into a buffer (never longer than the input).
        Span<char> decoded = rawPath.Length <= 1024 ? stackalloc char[rawPath.Length] : new char[rawPath.Length];
        var length = 0;
        for (var i = 0; i < rawPath.Length; i++)
        {
            var c = rawPath[i];
            if (c == '%')
            {
                var value = (HexValue(rawPath[i + 1]) << 4) | HexValue(rawPath[i + 2]);
                if (IsUnreserved(value))
                {
                    var ch = (char)value;
                    decoded[length++] = options.LowercasePaths ? char.ToLowerInvariant(ch) : ch;
                }
                else
                {
                    decoded[length++] = '%';
                    decoded[length++] = char.ToUpperInvariant(rawPath[i + 1]);
                    decoded[length++] = char.ToUpperInvariant(rawPath[i + 2]);
                }

                i += 2;
            }
            else
            {
                decoded[length++] = options.LowercasePaths && char.IsAsciiLetterUpper(c) ? char.ToLowerInvariant(c) : c;
            }
        }

        // Remove dot segments (RFC 3986 §5.2.4) and merge slashes, segment by segment.
        var input = decoded[..length];
        Span<char> output = length <= 1024 ? stackalloc char[length + 1] : new char[length + 1];
        var outLength = 0;
        var position = 1; // input[0] == '/'
        while (true)
        {
            var end = input[position..].IndexOf('/');
            var isLast = end < 0;
            var segment = isLast ? input[position..] : input.Slice(position, end);

            if (IsDotSegmentWithParameters(segment))
            {
                return PathResult.Ambiguous("dot segment with path parameters ('..;' or '.;')");
            }

            if (segment is ".")
            {
                if (isLast)
                {
                    output[outLength++] = '/';
                }
            }
            else if (segment is "..")
            {
                if (outLength == 0)
                {
                    return PathResult.Invalid("'..' climbs above the root");
                }

                outLength = output[..outLength].LastIndexOf('/');
                if (isLast)
                {
                    output[outLength++] = '/';
                }
            }
            else if (segment.IsEmpty && options.MergeSlashes && !isLast)
            {
                // "//" merged: skip the empty segment.
            }
            else
            {
                output[outLength++] = '/';
                segment.CopyTo(output[outLength..]);
                outLength += segment.Length;
            }

            if (isLast)
            {
                break;
            }

            position += end + 1;
        }

        if (outLength == 0)
        {
            return PathResult.Success("/");
        }

        var result = output[..outLength];
        return PathResult.Success(result.SequenceEqual(rawPath) ? rawPath : new string(result));
    }

    private static bool IsDotSegmentWithParameters(ReadOnlySpan<char> segment)
    {
        var semicolon = segment.IndexOf(';');
        if (semicolon <= 0)
        {
            return false;
        }

        var head = segment[..semicolon];
        return head is "." or "..";
    }

    /// <summary>RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".</summary>
    private static bool IsUnreserved(int value) =>
        value is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.' or '_' or '~';

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
