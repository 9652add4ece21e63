using System.Collections.Concurrent;

namespace Gatehouse.Proxy.Admin.Console;

/// <summary>Cache hits and misses as numbers a person can read (the metrics hold the same as counters for Prometheus).</summary>
internal sealed class CacheTally
{
    private readonly ConcurrentDictionary<string, long[]> _introspection = new(StringComparer.Ordinal);

    public void RecordIntrospection(string issuer, bool hit)
    {
        var counts = _introspection.GetOrAdd(issuer, static _ => new long[2]);
        Interlocked.Increment(ref counts[hit ? 0 : 1]);
    }

    public (long Hits, long Misses) Introspection(string issuer) =>
        _introspection.TryGetValue(issuer, out var counts) ? (Interlocked.Read(ref counts[0]), Interlocked.Read(ref counts[1])) : (0, 0);
}
