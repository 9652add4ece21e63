using BenchmarkDotNet.Attributes;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Benchmarks.Decisions;

/// <summary>
/// The whole decision path on a verified-token cache hit, as the gateway runs it per request: path
/// normalization → route match → bearer parse → token (cache hit) → principal → scopes → policy → claim headers.
/// Only the ASP.NET Core adapter and the forwarding are left out.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class DecisionEngineBenchmarks
{
    private DecisionFixture _fixture = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = DecisionFixture.CreateAsync().GetAwaiter().GetResult();
        var first = Decide();
        if (!first.Allowed)
        {
            throw new InvalidOperationException("denied: " + string.Join(",", first.Reasons));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public Decision DecideCacheHit() => Decide();

    private Decision Decide()
    {
        var pending = _fixture.Engine.DecideAsync(_fixture.Request, _fixture.Snapshot);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }
}
