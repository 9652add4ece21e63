using Gatehouse.Decisions;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>Wraps a <see cref="DecideAsync"/> with a <see cref="DecisionCache"/>.</summary>
public static class CachingDecider
{
    /// <summary>
    /// Returns a decider that answers from <paramref name="cache"/> when it can and stores what
    /// <paramref name="inner"/> decides. A cache hit completes synchronously without allocating.
    /// </summary>
    public static DecideAsync Create(DecideAsync inner, DecisionCache cache)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(cache);
        return (request, cancellationToken) =>
        {
            if (!cache.Enabled || !DecisionCacheKey.TryCreate(request, out var key))
            {
                return inner(request, cancellationToken);
            }

            if (cache.TryGet(key, out var cached))
            {
                return new ValueTask<Decision>(cached);
            }

            var generation = cache.Generation;
            var pending = inner(request, cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                var decision = pending.Result;
                cache.TrySet(key, decision, generation);
                return new ValueTask<Decision>(decision);
            }

            return AwaitAndStoreAsync(pending, cache, key, generation);
        };
    }

    private static async ValueTask<Decision> AwaitAndStoreAsync(ValueTask<Decision> pending, DecisionCache cache, DecisionCacheKey key, long generation)
    {
        var decision = await pending;
        cache.TrySet(key, decision, generation);
        return decision;
    }
}
