using System.Buffers;
using System.Buffers.Text;

namespace Gatehouse.Tokens.Jwt;

/// <summary>
/// Strict base64url (RFC 7515 §2, RFC 4648 §5): alphabet <c>A-Z a-z 0-9 - _</c> only, no padding, no whitespace,
/// and canonical — the unused low bits of the last character must be zero (RFC 4648 §3.5). Without the last rule,
/// four different final characters decode to the same bytes, so a "changed" signature would still verify.
/// </summary>
internal static class Base64UrlStrict
{
    private static readonly SearchValues<char> Alphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    public static bool IsCanonical(ReadOnlySpan<char> s)
    {
        var rem = s.Length % 4;
        if (rem == 1)
        {
            return false;
        }

        // Note: a vectorized scan; the token's ~800 characters are checked here once per segment decode.
        if (s.ContainsAnyExcept(Alphabet))
        {
            return false;
        }

        return rem switch
        {
            2 => (Value(s[^1]) & 0x0F) == 0,
            3 => (Value(s[^1]) & 0x03) == 0,
            _ => true,
        };
    }

    public static int DecodedLength(int charCount) => charCount / 4 * 3 + (charCount % 4 == 0 ? 0 : charCount % 4 - 1);

    /// <summary>Decodes canonical base64url; false on any deviation.</summary>
    public static bool TryDecode(ReadOnlySpan<char> s, Span<byte> destination, out int written)
    {
        written = 0;
        return IsCanonical(s) && Base64Url.TryDecodeFromChars(s, destination, out written);
    }

    /// <summary>Decodes canonical base64url into a new array, or null.</summary>
    public static byte[]? Decode(ReadOnlySpan<char> s)
    {
        var buffer = new byte[DecodedLength(s.Length)];
        return TryDecode(s, buffer, out var n) && n == buffer.Length ? buffer : null;
    }

    private static int Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        '_' => 63,
        _ => -1,
    };
}
