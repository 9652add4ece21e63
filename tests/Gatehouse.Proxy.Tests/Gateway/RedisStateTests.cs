using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// <c>state.backend: redis</c> with a real redis-server: two Gatehouse instances share the DPoP replay cache; an
/// outage fails DPoP closed (503 state.unavailable) while bearer traffic goes on; a restart recovers by itself.
/// </summary>
public sealed class RedisStateTests
{
    private const string Origin = "https://api.example.com";

    private static Func<string, string, string> Config(RedisServer redis, string prefix, string? jwksPath = null, bool nonce = false) => (upstream, jwks) =>
        GatewayHarness.DefaultConfig(upstream, jwksPath ?? jwks, extra: $$"""
            state:
              backend: redis
              redis: { endpoint: "{{redis.Endpoint}}", key_prefix: "{{prefix}}", connect_timeout: 1s }
            """)
            .Replace("include_error_details: true }", $"include_error_details: true, dpop: {{ origins: [\"{Origin}\"], nonce: {(nonce ? "true" : "false")} }} }}", StringComparison.Ordinal);

    private static string Bound(GatewayHarness h, DpopClientKey client) =>
        h.Keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, string> { ["jkt"] = client.Thumbprint } });

    private static Action<HttpRequestMessage> Dpop(string token, string proof) => request =>
    {
        request.Headers.TryAddWithoutValidation("Authorization", "DPoP " + token);
        request.Headers.TryAddWithoutValidation("DPoP", proof);
    };

    [Fact]
    public async Task ProofUsedAtOneReplica_IsRefusedAtTheOther()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "gh-" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var first = await GatewayHarness.StartAsync(Config(redis, prefix));
        await using var second = await GatewayHarness.StartAsync(Config(redis, prefix, first.JwksPath));
        using var client = new DpopClientKey();
        var token = Bound(first, client);
        var proof = client.Proof("GET", Origin + "/orders/1", token);

        using var atFirst = await first.GetAsync("/orders/1", configure: Dpop(token, proof));
        using var atSecond = await second.GetAsync("/orders/1", configure: Dpop(token, proof));
        using var fresh = await second.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token)));

        Assert.Equal(HttpStatusCode.OK, atFirst.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, atSecond.StatusCode);
        Assert.Equal("dpop.replayed", atSecond.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
    }

    [Fact]
    public async Task NonceIssuedByOneReplica_IsAcceptedByTheOther()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "gh-" + Guid.NewGuid().ToString("N")[..8] + ":";
        await using var first = await GatewayHarness.StartAsync(Config(redis, prefix, nonce: true));
        await using var second = await GatewayHarness.StartAsync(Config(redis, prefix, first.JwksPath, nonce: true));
        using var client = new DpopClientKey();
        var token = Bound(first, client);

        using var challenge = await first.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token)));
        var nonce = challenge.Headers.GetValues("DPoP-Nonce").Single();
        using var atSecond = await second.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token, nonce)));
        using var atFirst = await first.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token, nonce)));
        using var stale = await second.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token, "not-the-nonce")));

        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        Assert.Equal("dpop.nonce_required:missing", challenge.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal(HttpStatusCode.OK, atSecond.StatusCode);
        Assert.Equal(HttpStatusCode.OK, atFirst.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        // The replica that refused hands out the same nonce the first one did.
        Assert.Equal(nonce, stale.Headers.GetValues("DPoP-Nonce").Single());
        Assert.Equal("shared", first.Server.Services.GetRequiredService<Gatehouse.Tokens.Dpop.DpopVerifier>().NonceSource);
    }

    [Fact]
    public async Task RedisOutage_FailsDpopClosed_BearerGoesOn_AndRecoversWithoutRestart()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var h = await GatewayHarness.StartAsync(Config(redis, "gh-" + Guid.NewGuid().ToString("N")[..8] + ":"));
        using var client = new DpopClientKey();
        using var admin = new HttpClient { BaseAddress = h.AdminUri, Timeout = TimeSpan.FromSeconds(20) };
        var token = Bound(h, client);
        var bearer = h.Keys.Mint();
        using (var before = await h.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token))))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        redis.Stop();
        await WaitUntilAsync(() => !h.Server.State.IsHealthy);

        using (var down = await h.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token))))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.Equal("state.unavailable", down.Headers.GetValues("x-gatehouse-reason").Single());
        }

        using (var plain = await h.GetAsync("/orders/1", bearer))
        {
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        }

        var ready = await admin.GetStringAsync("/readyz");
        Assert.Contains("\"state\":{\"backend\":\"redis\",\"healthy\":false}", ready, StringComparison.Ordinal);
        Assert.Contains("gatehouse_state_backend_up{backend=\"redis\"} 0", await admin.GetStringAsync("/metrics"), StringComparison.Ordinal);

        await redis.RestartAsync();
        await WaitUntilAsync(() => h.Server.State.IsHealthy);

        using (var after = await h.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", Origin + "/orders/1", token))))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }

        Assert.Contains("\"state\":{\"backend\":\"redis\",\"healthy\":true}", await admin.GetStringAsync("/readyz"), StringComparison.Ordinal);
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains("gatehouse_state_backend_up{backend=\"redis\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("gatehouse_dpop_proofs_total{result=\"state.unavailable\"} 1", metrics, StringComparison.Ordinal);
    }

    // Bounded wait for the client library's background connection state (reconnects every 500 ms).
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(50, deadline.Token);
        }
    }
}
