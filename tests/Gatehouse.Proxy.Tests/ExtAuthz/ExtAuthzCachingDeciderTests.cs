using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>The decision cache in front of the engine, through the real gRPC service.</summary>
public sealed class ExtAuthzCachingDeciderTests
{
    [Fact]
    public async Task RepeatedCheck_IsAnsweredFromCache_UntilConfigReload()
    {
        var decider = new ScriptedDecider(ScriptedDecider.Allow(("x-gatehouse-sub", "alice")));
        var cache = new DecisionCache(new DecisionCacheConfig { Ttl = TimeSpan.FromMinutes(1) }, TimeProvider.System);
        await using var server = await ExtAuthzServer.StartGrpcAsync(CachingDecider.Create(decider.Decide, cache));
        var body = GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin"));

        for (var i = 0; i < 5; i++)
        {
            var result = await GrpcTestClient.CallAsync(server.Client, body);
            Assert.Equal("alice", result.Response!.OkResponse.Headers.Single().Header.Value);
        }

        Assert.Equal(1, decider.Calls);
        Assert.Equal(4, cache.Hits);

        cache.Clear();
        await GrpcTestClient.CallAsync(server.Client, body);
        Assert.Equal(2, decider.Calls);
    }

    [Fact]
    public async Task AsyncEngine_ResultIsStored()
    {
        var decider = new ScriptedDecider(ScriptedDecider.Allow());
        decider.Script(async (_, _) =>
        {
            await Task.Yield();
            return ScriptedDecider.Allow();
        });
        var cache = new DecisionCache(new DecisionCacheConfig(), TimeProvider.System);
        var decide = CachingDecider.Create(decider.Decide, cache);
        var request = new AuthorizationRequest { Method = "GET", Host = "h", RawPath = "/", GetHeader = _ => null };

        await decide(request, default);
        await decide(request, default);

        Assert.Equal(1, decider.Calls);
    }
}
