using System.Net;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Core.Tests.Decisions.Cache;

/// <summary>
/// Decision-cache rules that survived mutation testing (docs/security.md, "Mutation testing", the decisions-rest set):
/// the scheme, the listener and the port are part of the key, components are length-prefixed so two requests never
/// run together into one key, and an entry lives exactly its TTL and the cache holds exactly its bound.
/// </summary>
public sealed class DecisionCacheEdgeTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));

    private static AuthorizationRequest Request(string authorization = "Bearer a", string? cookie = null, string scheme = "https",
        string listener = "edge", int port = 443, string path = "/orders")
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["authorization"] = authorization };
        if (cookie is not null)
        {
            headers["cookie"] = cookie;
        }

        return new AuthorizationRequest
        {
            Method = "GET",
            Host = "api.example.com",
            Port = port,
            Scheme = scheme,
            RawPath = path,
            GetHeader = headers.GetValueOrDefault,
            SourceAddress = IPAddress.Loopback,
            Listener = listener,
        };
    }

    private static DecisionCacheKey Key(AuthorizationRequest request)
    {
        Assert.True(DecisionCacheKey.TryCreate(request, out var key));
        return key;
    }

    private static Decision Allow() => new() { Outcome = DecisionOutcome.Allow, StatusCode = 200, Reasons = [ReasonCodes.PolicyAllowMatched] };

    public static TheoryData<string, AuthorizationRequest> Variants => new()
    {
        // Listeners have their own routes and policies; http and https can differ in both.
        { "scheme", Request(cookie: "b", scheme: "http") },
        { "listener", Request(cookie: "b", listener: "internal") },
        { "port", Request(cookie: "b", port: 8443) },
        // Length-prefixed: "Bearer a" + cookie "b" is neither "Bearer ab" with no cookie nor with an empty one.
        { "token and cookie run together", Request(authorization: "Bearer ab") },
        { "empty cookie", Request(authorization: "Bearer ab", cookie: "") },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void KeyComponents_Distinguish(string what, AuthorizationRequest other)
    {
        var baseline = Request(cookie: "b");

        Assert.NotEqual(Key(baseline), Key(other));
        Assert.True(Key(baseline) == Key(Request(cookie: "b")), what);
    }

    [Fact]
    public void AnEntry_IsNotServedAtTheInstantItExpires()
    {
        var cache = new DecisionCache(new DecisionCacheConfig { Ttl = TimeSpan.FromSeconds(5), MaxEntries = 10 }, _time);
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
        var cache = new DecisionCache(new DecisionCacheConfig { Ttl = TimeSpan.FromSeconds(5), MaxEntries = 3 }, _time);
        var keys = new[] { "/a", "/b", "/c" }.Select(p => Key(Request(path: p))).ToArray();
        foreach (var key in keys)
        {
            Assert.True(cache.TrySet(key, Allow(), cache.Generation));
        }

        Assert.Equal(3, cache.Count);
        Assert.All(keys, key => Assert.True(cache.TryGet(key, out _)));
    }
}
