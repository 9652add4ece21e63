using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gatehouse.Configuration;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Benchmarks.ExtAuthz;

/// <summary>
/// The ext_authz decision cache's tiers against deciding (docs/state.md, "Gain or cost"): the engine on a
/// verified-token cache hit (baseline), a front-tier (in-process) hit, a shared-tier hit on a real local
/// <c>redis-server</c> (one GET over loopback + decoding the decision), and a shared miss (GET, decide, SET).
/// Needs Debian's <c>redis-server</c>; it is started on a free loopback port for the run.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessShortConfig))]
public class SharedDecisionCacheBenchmarks
{
    private DecisionFixture _fixture = null!;
    private Process _redis = null!;
    private RedisStateStore _store = null!;
    private SharedDecisionCache _shared = null!;
    private DecisionCache _front = null!;
    private DecisionCacheKey _key;
    private string _hitKey = "";
    private int _miss;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = DecisionFixture.CreateAsync().GetAwaiter().GetResult();
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(arg);
        }

        _redis = Process.Start(start)!;
        _store = RedisStateStore.Connect(new RedisStateConfig { Endpoint = "127.0.0.1:" + port, ConnectTimeout = TimeSpan.FromSeconds(2) }, NullLoggerFactory.Instance);
        for (var i = 0; i < 100 && !_store.IsHealthy; i++)
        {
            Thread.Sleep(50);
        }

        _shared = new SharedDecisionCache(_store, TimeProvider.System, meter: null);
        _front = new DecisionCache(new DecisionCacheConfig { Ttl = TimeSpan.FromHours(1) }, TimeProvider.System);
        if (!DecisionCacheKey.TryCreate(_fixture.Request, out _key))
        {
            throw new InvalidOperationException("no decision key");
        }

        var decision = Decide();
        _hitKey = _shared.KeyOf(_fixture.Snapshot, _key);
        if (!decision.Allowed || !_shared.SetAsync(_hitKey, decision, TimeSpan.FromHours(1), default).AsTask().GetAwaiter().GetResult()
            || !_front.TrySet(_key, decision, _front.Generation) || SharedHit() is null)
        {
            throw new InvalidOperationException("setup failed");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _redis.Kill();
        _redis.Dispose();
        _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public Decision Decide()
    {
        var pending = _fixture.Engine.DecideAsync(_fixture.Request, _fixture.Snapshot);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public Decision? FrontTierHit() => _front.TryGet(_key, out var decision) ? decision : null;

    [Benchmark]
    public Decision? SharedHit() =>
        _shared.GetAsync(_shared.KeyOf(_fixture.Snapshot, _key), default).AsTask().GetAwaiter().GetResult().Decision;

    [Benchmark]
    public Decision SharedMissDecideStore()
    {
        var key = _shared.KeyOf(_fixture.Snapshot, _key) + (++_miss).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_shared.GetAsync(key, default).AsTask().GetAwaiter().GetResult().Decision is { } found)
        {
            return found;
        }

        var decision = Decide();
        _ = _shared.SetAsync(key, decision, TimeSpan.FromSeconds(30), default).AsTask().GetAwaiter().GetResult();
        return decision;
    }

    /// <summary>3 warm-ups × 8 iterations, in process (the shared box cannot build BenchmarkDotNet's generated project in time).</summary>
    private sealed class InProcessShortConfig : ManualConfig
    {
        public InProcessShortConfig() =>
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(8).WithToolchain(InProcessEmitToolchain.Instance));
    }
}
