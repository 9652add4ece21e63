using BenchmarkDotNet.Attributes;
using Gatehouse.Tokens;

namespace Gatehouse.Benchmarks.Tokens;

/// <summary>
/// Issue #3 item 4: a repeat token costs one SHA-256 and one lookup and allocates nothing.
/// <see cref="CacheHit"/> is <see cref="TokenAuthenticator.AuthenticateAsync"/> for a token already verified
/// (the whole public entry point, not just the dictionary); <see cref="FingerprintOnly"/> isolates the hash.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class VerifiedTokenCacheBenchmarks
{
    private DecisionFixture _fixture = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = DecisionFixture.CreateAsync().GetAwaiter().GetResult();
        var first = _fixture.Tokens.AuthenticateAsync(_fixture.Token, _fixture.Candidates, default).AsTask().GetAwaiter().GetResult();
        if (!first.Succeeded)
        {
            throw new InvalidOperationException("token rejected: " + first.Reason + " " + first.Detail);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public bool CacheHit()
    {
        var pending = _fixture.Tokens.AuthenticateAsync(_fixture.Token, _fixture.Candidates, default);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("a cache hit must complete synchronously");
        }
        return pending.Result.Succeeded;
    }

    [Benchmark]
    public int FingerprintOnly() => TokenFingerprint.ComputeHash(_fixture.Token).GetHashCode();
}
