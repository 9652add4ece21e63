using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Tests.Observability;
using Gatehouse.Tests.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using StackExchange.Redis;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// The ext_authz decision cache on <c>state.backend: redis</c> with a real redis-server and two Gatehouse hosts
/// answering Envoy's gRPC Check: a decision made at one host answers the other; the key is a fingerprint (no token
/// in Redis); a reload that changes the rules stops sharing; Redis gone → the engine decides (never a 5xx, never a
/// stale allow), and the tier comes back by itself.
/// </summary>
public sealed class SharedDecisionCacheTests
{
    private static readonly Method<CheckRequest, CheckResponse> s_check = new(
        MethodType.Unary,
        "envoy.service.auth.v3.Authorization",
        "Check",
        Marshallers.Create(static (CheckRequest m) => m.ToByteArray(), CheckRequest.Parser.ParseFrom),
        Marshallers.Create(static (CheckResponse m) => m.ToByteArray(), CheckResponse.Parser.ParseFrom));

    // Both hosts get the same config text (the same upstream and JWKS file), as replicas of one deployment do.
    private static string Config(RedisServer redis, string prefix, string upstream, string jwks, string policies = "  {}", bool shared = true) => $$"""
        version: 1
        issuers:
          corp: { issuer: "{{TestIssuerKeys.Issuer}}", jwks_file: {{jwks}}, audiences: [{{TestIssuerKeys.Audience}}], algorithms: [RS256, ES256] }
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0" }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
          - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0" }
        routes:
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true }
            claim_headers: { x-auth-subject: sub }
            policies: [orders]
        policies:
        {{policies}}
        decision_cache: { ttl: 1m, shared: {{(shared ? "true" : "false")}} }
        state:
          backend: redis
          redis: { endpoint: "{{redis.Endpoint}}", key_prefix: "{{prefix}}", connect_timeout: 1s }
        """;

    private const string AllowAll = """
          orders:
            action: allow
            rules: [{ to: { paths: ["/orders/*"] } }]
        """;

    private const string AllowNobody = """
          orders:
            action: allow
            rules: [{ to: { paths: ["/nothing/*"] } }]
        """;

    [Fact]
    public async Task DecisionMadeAtOneHost_AnswersTheOther_UnderAFingerprintKey()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = Prefix();
        string upstream = "", jwks = "";
        await using var first = await GatewayHarness.StartAsync((u, j) => Config(redis, prefix, upstream = u, jwks = j, AllowAll));
        await using var second = await GatewayHarness.StartAsync((_, _) => Config(redis, prefix, upstream, jwks, AllowAll));
        var token = first.Keys.Mint();

        using var atFirst = GrpcChannel.ForAddress(first.Server.GetListenerUri("grpc"));
        using var atSecond = GrpcChannel.ForAddress(second.Server.GetListenerUri("grpc"));
        var decided = await CheckAsync(atFirst, token);
        var shared = await CheckAsync(atSecond, token);
        var again = await CheckAsync(atSecond, token);

        Assert.Equal(0, decided.Status.Code);
        // The answer from the shared tier is the engine's answer: same headers, same metadata.
        Assert.Equal(decided.OkResponse, shared.OkResponse);
        Assert.Equal(decided.DynamicMetadata, shared.DynamicMetadata);
        Assert.Equal(decided.OkResponse, again.OkResponse);
        Assert.Equal((0, 1, 0, 1), await SharedAsync(first));
        // The second host read Redis once; its repeat was answered by its own in-process tier.
        Assert.Equal((1, 0, 0, 0), await SharedAsync(second));

        // What is in Redis: one key under the prefix, named by a hash; neither the token nor its signature anywhere.
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var keys = connection.GetServer(redis.Endpoint).Keys(pattern: prefix + "authz:*").ToList();
        var key = Assert.Single(keys);
        Assert.Matches("^" + prefix + "authz:[A-Za-z0-9_-]{43}$", key.ToString());
        var value = (string)(await connection.GetDatabase().StringGetAsync(key))!;
        Assert.DoesNotContain(token, value, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], value, StringComparison.Ordinal);
        var ttl = await connection.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task EntryTtl_IsBoundedByTheTokensExpiry()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = Prefix();
        await using var host = await GatewayHarness.StartAsync((u, j) => Config(redis, prefix, u, j, AllowAll));
        var token = host.Keys.Mint(lifetime: TimeSpan.FromSeconds(20));
        using var channel = GrpcChannel.ForAddress(host.Server.GetListenerUri("grpc"));

        Assert.Equal(0, (await CheckAsync(channel, token)).Status.Code);

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var key = Assert.Single(connection.GetServer(redis.Endpoint).Keys(pattern: prefix + "authz:*"));
        var ttl = await connection.GetDatabase().KeyTimeToLiveAsync(key);
        // decision_cache.ttl is 1m; the token expires in 20 s.
        Assert.InRange(ttl!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task ReloadThatChangesTheRules_NeverReadsTheOldConfigsDecision()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = Prefix();
        string upstream = "", jwks = "";
        await using var first = await GatewayHarness.StartAsync((u, j) => Config(redis, prefix, upstream = u, jwks = j, AllowAll));
        await using var second = await GatewayHarness.StartAsync((_, _) => Config(redis, prefix, upstream, jwks, AllowAll));
        var token = first.Keys.Mint();
        using var atFirst = GrpcChannel.ForAddress(first.Server.GetListenerUri("grpc"));
        using var atSecond = GrpcChannel.ForAddress(second.Server.GetListenerUri("grpc"));
        Assert.Equal(0, (await CheckAsync(atFirst, token)).Status.Code);

        await File.WriteAllTextAsync(second.ConfigPath, Config(redis, prefix, upstream, jwks, AllowNobody));
        Assert.True(await second.Server.ReloadAsync(), "the reload was refused");
        var afterReload = await CheckAsync(atSecond, token);

        // The allow stored under the old rules is not visible under the new ones: the engine decides, and denies.
        Assert.Equal(7, afterReload.Status.Code); // PERMISSION_DENIED
        Assert.Equal(403, (int)afterReload.DeniedResponse.Status.Code);
        Assert.Equal((0, 1, 0, 1), await SharedAsync(second));
    }

    [Fact]
    public async Task RedisDown_TheEngineDecides_NoFiveHundreds_AndTheTierComesBack()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = Prefix();
        await using var host = await GatewayHarness.StartAsync((u, j) => Config(redis, prefix, u, j, AllowAll));
        using var channel = GrpcChannel.ForAddress(host.Server.GetListenerUri("grpc"));
        var good = host.Keys.Mint();
        var other = host.Keys.Mint(overrides: new Dictionary<string, object?> { ["sub"] = "someone-else" });

        redis.Stop();
        await WaitUntilAsync(() => !host.Server.State.IsHealthy);

        var allowed = await CheckAsync(channel, good);
        var expired = await CheckAsync(channel, host.Keys.Mint(lifetime: TimeSpan.FromSeconds(-120)));
        Assert.Equal(0, allowed.Status.Code);
        Assert.Equal(16, expired.Status.Code); // UNAUTHENTICATED: decided, not a 5xx
        Assert.Equal(401, (int)expired.DeniedResponse.Status.Code);
        var (_, _, unavailable, _) = await SharedAsync(host);
        Assert.True(unavailable >= 2, $"lookups while Redis was down: {unavailable}");

        await redis.RestartAsync();
        await WaitUntilAsync(() => host.Server.State.IsHealthy);
        Assert.Equal(0, (await CheckAsync(channel, other)).Status.Code);

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        Assert.Single(connection.GetServer(redis.Endpoint).Keys(pattern: prefix + "authz:*"));
    }

    [Fact]
    public async Task SharedOff_DecisionsStayInProcess()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = Prefix();
        await using var host = await GatewayHarness.StartAsync((u, j) => Config(redis, prefix, u, j, AllowAll, shared: false));
        using var channel = GrpcChannel.ForAddress(host.Server.GetListenerUri("grpc"));
        var token = host.Keys.Mint();

        Assert.Equal(0, (await CheckAsync(channel, token)).Status.Code);
        Assert.Equal(0, (await CheckAsync(channel, token)).Status.Code);

        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        Assert.Empty(connection.GetServer(redis.Endpoint).Keys(pattern: prefix + "authz:*"));
        Assert.Equal((0, 0, 0, 0), await SharedAsync(host));
    }

    private static string Prefix() => "gh-" + Guid.NewGuid().ToString("N")[..8] + ":";

    private static async Task<CheckResponse> CheckAsync(GrpcChannel channel, string token)
    {
        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/1", Host = "api.example.com", Scheme = "https" };
        http.Headers["authorization"] = "Bearer " + token;
        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
        return await channel.CreateCallInvoker().AsyncUnaryCall(s_check, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), check);
    }

    /// <summary>(hit, miss, unavailable) lookups and stores of the shared tier, from /metrics.</summary>
    private static async Task<(double Hits, double Misses, double Unavailable, double Stored)> SharedAsync(GatewayHarness h)
    {
        using var admin = new HttpClient { BaseAddress = h.AdminUri, Timeout = TimeSpan.FromSeconds(20) };
        var families = PrometheusText.Parse(await admin.GetStringAsync("/metrics"));
        double Count(string result) => families.TryGetValue("gatehouse_decision_cache_shared_total", out var family)
            ? family.Samples.Where(s => s.Labels.GetValueOrDefault("result") == result).Sum(s => s.Value)
            : 0;
        return (Count("hit"), Count("miss"), Count("unavailable"), Count("stored"));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(50, deadline.Token);
        }
    }
}
