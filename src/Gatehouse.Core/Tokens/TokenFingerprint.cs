using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Tokens.Cache;

namespace Gatehouse.Tokens;

/// <summary>
/// The token fingerprint: SHA-256 of the token's UTF-8 bytes. Logs, audit and cache keys use it; the raw token is
/// never stored or logged.
/// </summary>
public static class TokenFingerprint
{
    private const int StackLimit = 8 * 1024;

    /// <summary>First 16 lower-case hex characters of SHA-256 of the UTF-8 token.</summary>
    public static string Compute(ReadOnlySpan<char> token)
    {
        var hash = ComputeHash(token);
        return hash.ToFingerprint();
    }

    /// <summary>The full 32-byte hash as a value (no allocation for tokens up to 8 KiB of UTF-8).</summary>
    internal static Hash256 ComputeHash(ReadOnlySpan<char> token)
    {
        Span<byte> digest = stackalloc byte[32];
        var byteCount = Encoding.UTF8.GetByteCount(token);
        if (byteCount <= StackLimit)
        {
            // Note: sized to the token, not to the limit: stackalloc zero-fills, so 8 KiB per call would dominate.
            Span<byte> utf8 = stackalloc byte[byteCount];
            var n = Encoding.UTF8.GetBytes(token, utf8);
            SHA256.HashData(utf8[..n], digest);
        }
        else
        {
            // Note: pooled, so steady state allocates nothing either; the size limit bounds this path.
            var rented = ArrayPool<byte>.Shared.Rent(byteCount);
            try
            {
                var n = Encoding.UTF8.GetBytes(token, rented);
                SHA256.HashData(rented.AsSpan(0, n), digest);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return new Hash256(digest);
    }
}
