using System.Collections.Concurrent;
using Gatehouse.Tokens.Jwks;

namespace Gatehouse.Tokens.Cache;

/// <summary>
/// Bounded cache of tokens that passed every check, keyed by the full SHA-256 of the token (never the token).
/// A hit is a hash plus a dictionary lookup and allocates nothing. An entry is valid until the token expires, and
/// only while its signing key is still in the issuer's JWKS (a revoked key fails the hit at once).
/// </summary>
internal sealed class VerifiedTokenCache
{
    private readonly ConcurrentDictionary<Hash256, Entry> _entries;
    private readonly int _capacity;
    private int _count;
    private int _trimming;

    public VerifiedTokenCache(int capacity)
    {
        _capacity = Math.Max(capacity, 16);
        _entries = new ConcurrentDictionary<Hash256, Entry>(Environment.ProcessorCount, Math.Min(_capacity, 1024));
    }

    public int Count => Volatile.Read(ref _count);

    public bool TryGet(in Hash256 hash, out Entry? entry) => _entries.TryGetValue(hash, out entry);

    public void Remove(in Hash256 hash)
    {
        if (_entries.TryRemove(hash, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    public void Add(in Hash256 hash, Entry entry, DateTimeOffset now)
    {
        if (_entries.TryAdd(hash, entry))
        {
            if (Interlocked.Increment(ref _count) > _capacity)
            {
                Trim(now);
            }
        }
    }

    // Drop expired and revoked entries first; if still above 90% of capacity, drop arbitrary ones. One trimmer at a time.
    private void Trim(DateTimeOffset now)
    {
        if (Interlocked.Exchange(ref _trimming, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var pair in _entries)
            {
                if (pair.Value.NotAfter <= now || pair.Value.Key?.Revoked == true)
                {
                    Remove(pair.Key);
                }
            }

            var target = _capacity * 9 / 10;
            foreach (var pair in _entries)
            {
                if (Count <= target)
                {
                    break;
                }

                Remove(pair.Key);
            }
        }
        finally
        {
            Volatile.Write(ref _trimming, 0);
        }
    }

    /// <summary>One verified token.</summary>
    internal sealed class Entry(ValidatedToken token, SigningKey? key, DateTimeOffset notAfter)
    {
        public ValidatedToken Token { get; } = token;

        /// <summary>The key that verified it (null for HMAC, whose secret is checked separately).</summary>
        public SigningKey? Key { get; } = key;

        /// <summary>exp + clock skew: the same bound validation uses.</summary>
        public DateTimeOffset NotAfter { get; } = notAfter;
    }
}
