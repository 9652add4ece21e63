using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.State;

namespace Gatehouse.Tokens.Dpop;

/// <summary>
/// Server-provided nonces (RFC 9449 §8): the nonce of a listener changes every <c>dpop.nonce_rotation</c> (a
/// period, time from the <see cref="TimeProvider"/>) and the current and the previous one are accepted, so a client
/// that just fetched a nonce is not refused at the turn of a period. Two sources:
/// <list type="bullet">
/// <item><b>local</b> (<c>state.backend: memory</c>): each nonce is HMAC-SHA-256(process key, listener ‖ period)
/// (BCL), so nothing is stored; a nonce is only good at the replica that issued it.</item>
/// <item><b>shared</b> (<c>state.backend: redis</c>): each (listener, period) nonce is 128 random bits that the
/// first replica to need it stores in the state backend (an atomic get-or-add with a TTL of three periods); every
/// other replica reads the same value, so a nonce issued by one replica is accepted by all. Each replica keeps the
/// nonces it has read, so the backend sees about one call per listener and period.</item>
/// </list>
/// </summary>
internal sealed class DpopNonces
{
    private const int MaxNonceLength = 64;
    private readonly byte[]? _key;
    private readonly IStateStore? _shared;
    private readonly ConcurrentDictionary<(string Listener, long Period), string> _known = new();

    private DpopNonces(byte[]? key, IStateStore? shared)
    {
        _key = key;
        _shared = shared;
    }

    /// <summary>Nonces derived from a per-process <paramref name="key"/>: good at this replica only.</summary>
    public static DpopNonces Local(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new DpopNonces(key, null);
    }

    /// <summary>Nonces every replica sharing <paramref name="state"/> agrees on.</summary>
    public static DpopNonces Shared(IStateStore state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new DpopNonces(null, state);
    }

    /// <summary><c>local</c> or <c>shared</c>.</summary>
    public string Kind => _shared is null ? "local" : "shared";

    /// <summary>The nonce to hand out now, or null when the shared backend cannot answer (the caller fails closed).</summary>
    public ValueTask<string?> CurrentAsync(DpopSettings settings, DateTimeOffset now, CancellationToken cancellationToken) =>
        ForAsync(settings, Period(settings, now), create: true, cancellationToken);

    /// <summary>
    /// Checks <paramref name="nonce"/> against the current and the previous nonce of the listener. Returns the
    /// current nonce (for a <c>use_dpop_nonce</c> answer) and whether the proof's nonce is one of the two; a null
    /// current nonce means the shared backend could not answer.
    /// </summary>
    public async ValueTask<(bool Valid, string? Current)> CheckAsync(string? nonce, DpopSettings settings, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var period = Period(settings, now);
        var current = await ForAsync(settings, period, create: true, cancellationToken).ConfigureAwait(false);
        if (current is null || string.IsNullOrEmpty(nonce) || nonce.Length > MaxNonceLength)
        {
            return (false, current);
        }

        if (Equal(nonce, current))
        {
            return (true, current);
        }

        // The previous period's nonce is never created now: if no replica issued one, no client can hold it.
        var previous = await ForAsync(settings, period - 1, create: false, cancellationToken).ConfigureAwait(false);
        return (previous is not null && Equal(nonce, previous), current);
    }

    private static long Period(DpopSettings settings, DateTimeOffset now) =>
        now.UtcTicks / Math.Max(settings.Config.NonceRotation.Ticks, TimeSpan.TicksPerSecond);

    private ValueTask<string?> ForAsync(DpopSettings settings, long period, bool create, CancellationToken cancellationToken)
    {
        if (_shared is null)
        {
            return new(Derive(settings.Listener, period));
        }

        return _known.TryGetValue((settings.Listener, period), out var known)
            ? new(known)
            : FetchAsync(settings, period, create, cancellationToken);
    }

    private async ValueTask<string?> FetchAsync(DpopSettings settings, long period, bool create, CancellationToken cancellationToken)
    {
        var key = "dpop-nonce:" + settings.Listener + ":" + period.ToString(CultureInfo.InvariantCulture);
        StateValue held;
        if (create)
        {
            var rotation = TimeSpan.FromTicks(Math.Max(settings.Config.NonceRotation.Ticks, TimeSpan.TicksPerSecond));
            // 128 bits are plenty for an unpredictable nonce; base64url is within NQCHAR (RFC 9449 §8.1).
            var fresh = Encoding.ASCII.GetBytes(Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)));
            held = await _shared!.GetOrAddAsync(key, fresh, rotation * 3, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            held = await _shared!.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }

        if (!held.Found || held.Value!.Length is 0 or > MaxNonceLength)
        {
            return null;
        }

        var nonce = Encoding.ASCII.GetString(held.Value);
        _known[(settings.Listener, period)] = nonce;
        // Only this and the previous period are ever asked for: forget older ones so the map stays tiny.
        foreach (var entry in _known.Keys)
        {
            if (entry.Period < period - 1)
            {
                _known.TryRemove(entry, out _);
            }
        }

        return nonce;
    }

    private string Derive(string listener, long period)
    {
        var input = Encoding.UTF8.GetBytes(listener + "\n" + period.ToString(CultureInfo.InvariantCulture));
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, input, mac);
        // 128 bits are plenty for an unpredictable nonce; the value is opaque to clients (RFC 9449 §8.1: NQCHAR only).
        return Base64Url.EncodeToString(mac[..16]);
    }

    private static bool Equal(string a, string b) =>
        a.Length == b.Length && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
