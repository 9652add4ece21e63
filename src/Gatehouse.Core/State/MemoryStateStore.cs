using System.Collections.Concurrent;

namespace Gatehouse.State;

/// <summary>
/// The single-process state backend (<c>state.backend: memory</c>, the default): a bounded dictionary with
/// per-entry expiry read from the <see cref="TimeProvider"/>. When it is full of live entries, a new replay-cache
/// key is refused (<see cref="StateAddResult.Unavailable"/>, so DPoP fails closed with 503 rather than forgetting a
/// jti that could then be replayed) and cache values are simply not stored.
/// </summary>
public sealed class MemoryStateStore : IStateStore
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly Lock _sweepLock = new();
    private int _count;

    /// <summary>Creates a store holding at most <paramref name="capacity"/> live entries.</summary>
    public MemoryStateStore(TimeProvider timeProvider, int capacity)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = timeProvider;
        _capacity = capacity;
    }

    /// <inheritdoc/>
    public string Backend => "memory";

    /// <inheritdoc/>
    public bool IsHealthy => true;

    /// <summary>Entries held, expired ones included until swept.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <inheritdoc/>
    public ValueTask<StateAddResult> TryAddAsync(string key, TimeSpan ttl, CancellationToken cancellationToken) => new(TryAdd(key, ttl, value: null));

    /// <inheritdoc/>
    public ValueTask<StateValue> GetAsync(string key, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().UtcTicks;
        return new(_entries.TryGetValue(key, out var entry) && entry.ExpiresAt > now && entry.Value is { } value
            ? StateValue.Hit(value)
            : StateValue.Miss);
    }

    /// <inheritdoc/>
    public ValueTask<bool> SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        var now = _time.GetUtcNow().UtcTicks;
        var entry = new Entry(now + ttl.Ticks, value);
        if (_entries.TryGetValue(key, out _))
        {
            _entries[key] = entry;
            return new(true);
        }

        return new(TryAdd(key, ttl, value) == StateAddResult.Added);
    }

    /// <inheritdoc/>
    public ValueTask<StateValue> GetOrAddAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        while (true)
        {
            var now = _time.GetUtcNow().UtcTicks;
            if (_entries.TryGetValue(key, out var existing) && existing.ExpiresAt > now && existing.Value is { } held)
            {
                return new(StateValue.Hit(held));
            }

            switch (TryAdd(key, ttl, value))
            {
                case StateAddResult.Added:
                    return new(StateValue.Hit(value));
                case StateAddResult.Unavailable:
                    return new(StateValue.Down);
                default:
                    // Another caller stored it between the two steps (or a value-less replay key sits there: then
                    // there is nothing to share, and the caller must not loop forever).
                    if (_entries.TryGetValue(key, out var other) && other.ExpiresAt > now && other.Value is null)
                    {
                        return new(StateValue.Down);
                    }

                    continue;
            }
        }
    }

    private StateAddResult TryAdd(string key, TimeSpan ttl, byte[]? value)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var entry = new Entry(now + ttl.Ticks, value);
        while (true)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                if (existing.ExpiresAt > now)
                {
                    return StateAddResult.Exists;
                }

                // Expired: take it over atomically (a concurrent taker wins exactly once).
                if (_entries.TryUpdate(key, entry, existing))
                {
                    return StateAddResult.Added;
                }

                continue;
            }

            if (Volatile.Read(ref _count) >= _capacity && !Sweep(now))
            {
                return StateAddResult.Unavailable;
            }

            if (_entries.TryAdd(key, entry))
            {
                Interlocked.Increment(ref _count);
                return StateAddResult.Added;
            }
        }
    }

    // Removes expired entries; true when there is room afterwards. One sweeper at a time, others wait for it.
    private bool Sweep(long now)
    {
        lock (_sweepLock)
        {
            if (Volatile.Read(ref _count) < _capacity)
            {
                return true;
            }

            foreach (var pair in _entries)
            {
                if (pair.Value.ExpiresAt <= now && ((ICollection<KeyValuePair<string, Entry>>)_entries).Remove(pair))
                {
                    Interlocked.Decrement(ref _count);
                }
            }

            return Volatile.Read(ref _count) < _capacity;
        }
    }

    private sealed record Entry(long ExpiresAt, byte[]? Value);
}
