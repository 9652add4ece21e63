using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Gatehouse.Configuration;
using Gatehouse.Model;

namespace Gatehouse.Decisions.Cache;

/// <summary>
/// A bounded, short-lived cache of decisions for the ext_authz hosts (Envoy itself caches no ext_authz decisions).
/// An entry lives min(<see cref="DecisionCacheConfig.Ttl"/>, <see cref="Decision.ValidUntil"/> − now); availability
/// failures (5xx) are never cached. Thread-safe; lookups do not allocate. Call <see cref="Clear"/> on every config
/// reload: entries decided under the old config are dropped, and decisions still in flight when the reload happened
/// are not stored (see <see cref="Generation"/>).
/// </summary>
public sealed class DecisionCache
{
    private readonly TimeProvider _timeProvider;
    private readonly Lock _trimLock = new();
    private volatile ConcurrentDictionary<DecisionCacheKey, Entry> _entries = new();
    private volatile DecisionCacheConfig _config;
    private int _count;
    private long _generation;
    private long _hits;
    private long _misses;
    private long _evictions;

    /// <summary>Creates a cache with the limits of <paramref name="config"/>.</summary>
    public DecisionCache(DecisionCacheConfig config, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _config = config;
        _timeProvider = timeProvider;
    }

    /// <summary>False when the TTL or the entry limit is zero: nothing is ever stored.</summary>
    public bool Enabled => _config.Ttl > TimeSpan.Zero && _config.MaxEntries > 0;

    /// <summary>Approximate number of entries (expired ones included until they are looked up or trimmed).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Incremented by <see cref="Clear"/>; pass the value read before deciding to <see cref="TrySet"/>.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Entries removed to stay within <see cref="DecisionCacheConfig.MaxEntries"/>.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Looks up a live decision. Does not allocate.</summary>
    public bool TryGet(in DecisionCacheKey key, [NotNullWhen(true)] out Decision? decision)
    {
        var entries = _entries;
        if (entries.TryGetValue(key, out var entry))
        {
            if (entry.ExpiresAtTicks > _timeProvider.GetUtcNow().UtcTicks)
            {
                Interlocked.Increment(ref _hits);
                decision = entry.Decision;
                return true;
            }

            if (((ICollection<KeyValuePair<DecisionCacheKey, Entry>>)entries).Remove(new(key, entry)))
            {
                Interlocked.Decrement(ref _count);
            }
        }

        Interlocked.Increment(ref _misses);
        decision = null;
        return false;
    }

    /// <summary>
    /// Stores <paramref name="decision"/> unless it must not be cached (cache disabled, 5xx / availability
    /// failure, already past <see cref="Decision.ValidUntil"/>, or the cache was cleared since
    /// <paramref name="generation"/> was read). Returns whether it was stored.
    /// </summary>
    public bool TrySet(in DecisionCacheKey key, Decision decision, long generation)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var config = _config;
        if (!Enabled || !IsCacheable(decision) || generation != Generation)
        {
            return false;
        }

        var now = _timeProvider.GetUtcNow();
        var expires = now + config.Ttl;
        if (decision.ValidUntil is { } validUntil && validUntil < expires)
        {
            expires = validUntil;
        }

        if (expires <= now)
        {
            return false;
        }

        var entries = _entries;
        var entry = new Entry(decision, expires.UtcTicks);
        if (entries.TryAdd(key, entry))
        {
            if (Interlocked.Increment(ref _count) > config.MaxEntries)
            {
                Trim(entries, config.MaxEntries);
            }
        }
        else
        {
            entries[key] = entry;
        }

        return true;
    }

    /// <summary>Drops every entry (config reload). Decisions in flight from before the call are not stored.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        lock (_trimLock)
        {
            _entries = new ConcurrentDictionary<DecisionCacheKey, Entry>();
            Volatile.Write(ref _count, 0);
        }
    }

    /// <summary>Applies new limits (a reload that changed <c>decision_cache:</c>) and clears.</summary>
    public void Reconfigure(DecisionCacheConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        Clear();
    }

    /// <summary>Availability failures say nothing about the next request; never cache them (in any tier).</summary>
    public static bool IsCacheable(Decision decision)
    {
        if (decision.StatusCode >= 500)
        {
            return false;
        }

        foreach (var reason in decision.Reasons)
        {
            if (reason is ReasonCodes.KeysUnavailable or ReasonCodes.IntrospectionUnavailable
                or ReasonCodes.Overloaded or ReasonCodes.InternalError)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Drops expired entries, then arbitrary ones down to 90% of the limit (rare: only when full).</summary>
    private void Trim(ConcurrentDictionary<DecisionCacheKey, Entry> entries, int maxEntries)
    {
        lock (_trimLock)
        {
            if (!ReferenceEquals(entries, _entries) || entries.Count <= maxEntries)
            {
                return;
            }

            var nowTicks = _timeProvider.GetUtcNow().UtcTicks;
            foreach (var pair in entries)
            {
                if (pair.Value.ExpiresAtTicks <= nowTicks)
                {
                    entries.TryRemove(pair.Key, out _);
                }
            }

            var target = maxEntries - (maxEntries / 10);
            var removed = 0L;
            foreach (var pair in entries)
            {
                if (entries.Count <= target)
                {
                    break;
                }

                if (entries.TryRemove(pair.Key, out _))
                {
                    removed++;
                }
            }

            Interlocked.Add(ref _evictions, removed);
            Volatile.Write(ref _count, entries.Count);
        }
    }

    private sealed record Entry(Decision Decision, long ExpiresAtTicks);
}
