using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Tokens.Dpop;

/// <summary>
/// Server-provided nonces (RFC 9449 §8): the nonce of a listener changes every <c>dpop.nonce_rotation</c>
/// (time from the <see cref="TimeProvider"/>) and the current and the previous one are accepted, so a client that
/// just fetched a nonce is not refused at the turn of a period. Each nonce is HMAC-SHA-256(key, listener ‖ period)
/// (BCL), so nothing is stored per client; replicas that share the key (<see cref="DpopVerifier"/> takes it from
/// the shared state backend when there is one) accept each other's nonces.
/// </summary>
internal sealed class DpopNonces
{
    private readonly byte[] _key;

    public DpopNonces(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
    }

    /// <summary>The nonce to hand out now.</summary>
    public string Current(DpopSettings settings, DateTimeOffset now) => For(settings.Listener, Period(settings, now));

    /// <summary>True when <paramref name="nonce"/> is the current or the previous nonce of the listener.</summary>
    public bool IsValid(string? nonce, DpopSettings settings, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(nonce) || nonce.Length > 64)
        {
            return false;
        }

        var period = Period(settings, now);
        return Equal(nonce, For(settings.Listener, period)) || Equal(nonce, For(settings.Listener, period - 1));
    }

    private static long Period(DpopSettings settings, DateTimeOffset now) =>
        now.UtcTicks / Math.Max(settings.Config.NonceRotation.Ticks, TimeSpan.TicksPerSecond);

    private string For(string listener, long period)
    {
        var input = Encoding.UTF8.GetBytes(listener + "\n" + period.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, input, mac);
        // 128 bits are plenty for an unpredictable nonce; the value is opaque to clients (RFC 9449 §8.1: NQCHAR only).
        return Base64Url.EncodeToString(mac[..16]);
    }

    private static bool Equal(string a, string b) =>
        a.Length == b.Length && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
