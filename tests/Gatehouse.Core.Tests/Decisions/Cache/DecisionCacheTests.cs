using System.Net;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Decisions.Cache;

public sealed class DecisionCacheTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));

    private static AuthorizationRequest Request(
        string token = "Bearer a", string path = "/orders", string method = "GET", string host = "api.example.com",
        string? peer = "spiffe://td/ns/a/sa/b", Dictionary<string, string>? headers = null, IPAddress? source = null,
        string? thumbprint = null, string query = "", string scheme = "https", string listener = "edge", int port = 443)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["authorization"] = token };
        foreach (var (k, v) in headers ?? [])
        {
            all[k] = v;
        }

        return new AuthorizationRequest
        {
            Method = method,
            Host = host,
            Port = port,
            Scheme = scheme,
            Listener = listener,
            RawPath = path,
            Query = query,
            GetHeader = all.GetValueOrDefault,
            PeerIdentity = peer,
            SourceAddress = source ?? IPAddress.Loopback,
            PeerCertificateThumbprint = thumbprint,
        };
    }

    private static Decision Allow(DateTimeOffset? validUntil = null) => new()
    {
        Outcome = DecisionOutcome.Allow,
        StatusCode = 200,
        Reasons = [ReasonCodes.PolicyAllowMatched],
        ValidUntil = validUntil,
    };

    private static DecisionCacheKey Key(AuthorizationRequest request)
    {
        Assert.True(DecisionCacheKey.TryCreate(request, out var key));
        return key;
    }

    private DecisionCache Cache(TimeSpan? ttl = null, int max = 1000) =>
        new(new DecisionCacheConfig { Ttl = ttl ?? TimeSpan.FromSeconds(5), MaxEntries = max }, _time);

    [Fact]
    public void Hit_WithinTtl_Miss_After()
    {
        var cache = Cache();
        var key = Key(Request());
        var decision = Allow();
        Assert.True(cache.TrySet(key, decision, cache.Generation));

        Assert.True(cache.TryGet(Key(Request()), out var hit));
        Assert.Same(decision, hit);

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(cache.TryGet(key, out _));
        Assert.Equal(0, cache.Count);
        Assert.Equal(1, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public void NeverPast_ValidUntil()
    {
        var cache = Cache(TimeSpan.FromMinutes(5));
        var key = Key(Request());
        cache.TrySet(key, Allow(_time.GetUtcNow().AddSeconds(2)), cache.Generation);

        _time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.True(cache.TryGet(key, out _));
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.False(cache.TryGet(key, out _));
    }

    [Fact]
    public void AlreadyExpired_IsNotStored()
    {
        var cache = Cache();
        Assert.False(cache.TrySet(Key(Request()), Allow(_time.GetUtcNow()), cache.Generation));
        Assert.Equal(0, cache.Count);
    }

    [Theory]
    [InlineData(503, ReasonCodes.KeysUnavailable)]
    [InlineData(500, ReasonCodes.InternalError)]
    [InlineData(403, ReasonCodes.IntrospectionUnavailable)]
    public void AvailabilityFailures_AreNotStored(int status, string reason)
    {
        var cache = Cache();
        var deny = new Decision { Outcome = DecisionOutcome.Deny, StatusCode = status, Reasons = [reason] };
        Assert.False(cache.TrySet(Key(Request()), deny, cache.Generation));
    }

    [Fact]
    public void Denials_AreStored()
    {
        var cache = Cache();
        var deny = new Decision { Outcome = DecisionOutcome.Deny, StatusCode = 403, Reasons = [ReasonCodes.ScopeMissing] };
        Assert.True(cache.TrySet(Key(Request()), deny, cache.Generation));
    }

    public static TheoryData<string, AuthorizationRequest> Variants => new()
    {
        { "token", Request(token: "Bearer b") },
        { "path", Request(path: "/orders/") },
        { "method", Request(method: "get") },
        { "host", Request(host: "api.example.org") },
        { "workload", Request(peer: "spiffe://td/ns/a/sa/c") },
        { "no workload", Request(peer: null) },
        { "cookie", Request(headers: new() { ["cookie"] = "session=x" }) },
        { "query", Request(query: "?access_token=x") },
        { "source", Request(source: IPAddress.Parse("10.0.0.1")) },
        { "certificate", Request(thumbprint: "abc") },
        // Listeners have their own routes and policies; http and https can differ in both.
        { "scheme", Request(scheme: "http") },
        { "listener", Request(listener: "internal") },
        { "port", Request(port: 8443) },
    };

    [Fact]
    public void KeyComponents_AreLengthPrefixed_SoTwoRequestsNeverRunTogether()
    {
        // "Bearer a" + cookie "b" is neither "Bearer ab" with no cookie nor with an empty one.
        var split = Key(Request(token: "Bearer a", headers: new() { ["cookie"] = "b" }));

        Assert.NotEqual(split, Key(Request(token: "Bearer ab")));
        Assert.NotEqual(split, Key(Request(token: "Bearer ab", headers: new() { ["cookie"] = "" })));
    }

    [Fact]
    public void AnEntry_IsNotServedAtTheInstantItExpires()
    {
        var cache = Cache();
        var key = Key(Request());
        Assert.True(cache.TrySet(key, Allow(), cache.Generation));

        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.True(cache.TryGet(key, out _));
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.False(cache.TryGet(key, out _));
    }

    [Fact]
    public void TheEntryBound_HoldsExactlyMaxEntries()
    {
        var cache = Cache(max: 3);
        var keys = new[] { "/a", "/b", "/c" }.Select(p => Key(Request(path: p))).ToArray();
        foreach (var key in keys)
        {
            Assert.True(cache.TrySet(key, Allow(), cache.Generation));
        }

        Assert.Equal(3, cache.Count);
        Assert.All(keys, key => Assert.True(cache.TryGet(key, out _)));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void KeyComponents_Distinguish(string what, AuthorizationRequest other)
    {
        var cache = Cache();
        cache.TrySet(Key(Request()), Allow(), cache.Generation);
        Assert.False(cache.TryGet(Key(other), out _), what);
        Assert.NotEqual(Key(Request()), Key(other));
    }

    [Fact]
    public void DpopRequests_AreNeverKeyed()
    {
        Assert.False(DecisionCacheKey.TryCreate(Request(headers: new() { ["DPoP"] = "eyJ..." }), out _));
    }

    [Fact]
    public void LargeTokens_UsePooledBuffer_AndStillMatch()
    {
        var token = "Bearer " + new string('x', 20_000);
        Assert.Equal(Key(Request(token: token)), Key(Request(token: token)));
        Assert.NotEqual(Key(Request(token: token)), Key(Request(token: token + "y")));
    }

    [Fact]
    public void Clear_DropsEntries_AndRejectsInFlightDecisions()
    {
        var cache = Cache();
        var key = Key(Request());
        var before = cache.Generation;
        cache.TrySet(key, Allow(), before);

        cache.Clear();

        Assert.False(cache.TryGet(key, out _));
        Assert.Equal(0, cache.Count);
        Assert.False(cache.TrySet(key, Allow(), before)); // decided under the old config
        Assert.True(cache.TrySet(key, Allow(), cache.Generation));
    }

    [Fact]
    public void Bounded_EvictsWhenFull()
    {
        var cache = Cache(max: 100);
        for (var i = 0; i < 250; i++)
        {
            cache.TrySet(Key(Request(path: "/p" + i)), Allow(), cache.Generation);
            Assert.True(cache.Count <= 100, $"count {cache.Count} after {i}");
        }

        Assert.True(cache.Evictions > 0);
        Assert.True(cache.TryGet(Key(Request(path: "/p249")), out _));
    }

    [Fact]
    public void Full_PrefersEvictingExpired()
    {
        var cache = Cache(max: 10);
        for (var i = 0; i < 10; i++)
        {
            cache.TrySet(Key(Request(path: "/old" + i)), Allow(_time.GetUtcNow().AddSeconds(1)), cache.Generation);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        cache.TrySet(Key(Request(path: "/new")), Allow(), cache.Generation);

        Assert.Equal(0, cache.Evictions);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Disabled_WhenTtlZero()
    {
        var cache = Cache(ttl: TimeSpan.Zero);
        Assert.False(cache.Enabled);
        Assert.False(cache.TrySet(Key(Request()), Allow(), cache.Generation));
    }

    [Fact]
    public void Reconfigure_AppliesNewLimits_AndClears()
    {
        var cache = Cache();
        cache.TrySet(Key(Request()), Allow(), cache.Generation);
        cache.Reconfigure(new DecisionCacheConfig { Ttl = TimeSpan.Zero, MaxEntries = 10 });
        Assert.Equal(0, cache.Count);
        Assert.False(cache.Enabled);
    }

    [Fact]
    public void Lookup_DoesNotAllocate()
    {
        var cache = Cache();
        var request = Request();
        cache.TrySet(Key(request), Allow(), cache.Generation);
        for (var i = 0; i < 100; i++)
        {
            DecisionCacheKey.TryCreate(request, out var warm);
            cache.TryGet(warm, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            DecisionCacheKey.TryCreate(request, out var key);
            Assert.True(cache.TryGet(key, out _));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task ConcurrentUse_IsSafe()
    {
        var cache = Cache(max: 500);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var key = Key(Request(path: "/p" + ((i * 7) + t) % 800));
                if (!cache.TryGet(key, out _))
                {
                    cache.TrySet(key, Allow(), cache.Generation);
                }

                if (i % 500 == 0 && t == 0)
                {
                    cache.Clear();
                }
            }
        })));

        Assert.InRange(cache.Count, 0, 500);
    }
}
