using BenchmarkDotNet.Attributes;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.ExtAuthz.Wire.Core;
using Google.Protobuf;

namespace Gatehouse.Benchmarks.ExtAuthz;

/// <summary>
/// Issue #7: one ext_authz v3 <c>Check</c> as the gRPC handler serves it, minus HTTP/2 framing: parse the
/// CheckRequest bytes Envoy sends → map the attributes → decide (verified-token cache hit) → build and serialize
/// the CheckResponse. <see cref="CheckWithDecisionCache"/> adds the ext_authz decision cache (issue #7 item 3).
/// The reciprocal of the mean is the Check calls per second of one core, before transport.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class CheckBenchmarks
{
    private readonly ExtAuthzOptions _options = new();
    private DecisionFixture _fixture = null!;
    private byte[] _checkBytes = null!;
    private DecideAsync _cached = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = DecisionFixture.CreateAsync().GetAwaiter().GetResult();
        var http = new AttributeContext.Types.HttpRequest
        {
            Id = "8711223344556677",
            Method = "GET",
            Path = "/orders/42?expand=items",
            Host = "orders.shop.svc.cluster.local",
            Scheme = "http",
            Protocol = "HTTP/1.1",
            Size = -1,
        };
        http.Headers[":authority"] = http.Host;
        http.Headers[":method"] = "GET";
        http.Headers[":path"] = http.Path;
        http.Headers[":scheme"] = "http";
        http.Headers["authorization"] = "Bearer " + _fixture.Token;
        http.Headers["user-agent"] = "curl/8.5.0";
        http.Headers["accept"] = "*/*";
        http.Headers["x-request-id"] = "0f6e2d8c-3b1a-4e57-9c0d-2a1b3c4d5e6f";
        http.Headers["x-forwarded-proto"] = "http";
        var check = new CheckRequest
        {
            Attributes = new AttributeContext
            {
                Source = new AttributeContext.Types.Peer
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = "10.0.0.9", PortValue = 40000 } },
                    Principal = "spiffe://cluster.local/ns/shop/sa/checkout",
                },
                Destination = new AttributeContext.Types.Peer
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = "10.0.0.10", PortValue = 8080 } },
                },
                Request = new AttributeContext.Types.Request { Http = http },
            },
        };
        _checkBytes = check.ToByteArray();
        _cached = CachingDecider.Create(Decide, new DecisionCache(new Gatehouse.Configuration.DecisionCacheConfig(), TimeProvider.System));
        var first = Check(Decide);
        if (first.Status.Code != 0)
        {
            throw new InvalidOperationException("denied: " + first);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public int Check() => Check(Decide).CalculateSize();

    [Benchmark]
    public int CheckWithDecisionCache() => Check(_cached).CalculateSize();

    [Benchmark]
    public int ParseOnly() => CheckRequest.Parser.ParseFrom(_checkBytes).Attributes.Request.Http.Headers.Count;

    private ValueTask<Decision> Decide(AuthorizationRequest request, CancellationToken cancellationToken) =>
        _fixture.Engine.DecideAsync(request, _fixture.Snapshot, trace: false, cancellationToken);

    private CheckResponse Check(DecideAsync decide)
    {
        var check = CheckRequest.Parser.ParseFrom(_checkBytes);
        var request = CheckRequestMapper.Map(check, _options) ?? throw new InvalidOperationException("unmappable");
        var pending = decide(request, default);
        var decision = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        var response = CheckResponseBuilder.Build(decision, _options);
        _ = response.ToByteArray();
        return response;
    }
}
