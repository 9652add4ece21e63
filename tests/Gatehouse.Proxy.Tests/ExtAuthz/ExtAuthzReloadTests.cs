using System.Net;
using Gatehouse.Tests.Observability;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>A config reload reaches the ext_authz decision cache: its <c>decision_cache:</c> settings apply at once.</summary>
public sealed class ExtAuthzReloadTests
{
    private static string Config(string upstream, string jwks, string decisionCache) => GatewayHarness.DefaultConfig(upstream, jwks)
        .Replace(
            "  - { name: admin, mode: admin, address: \"127.0.0.1:0\" }",
            "  - { name: admin, mode: admin, address: \"127.0.0.1:0\" }\n  - { name: authz, mode: ext_authz_http, address: \"127.0.0.1:0\" }",
            StringComparison.Ordinal)
        + $"\ndecision_cache: {decisionCache}\n";

    [Fact]
    public async Task Reload_ThatDisablesTheDecisionCache_StopsCaching()
    {
        string? jwksPath = null;
        await using var gateway = await GatewayHarness.StartAsync((u, j) =>
        {
            jwksPath = j;
            return Config(u, j, "{ ttl: 1m }");
        });
        Assert.Contains("authz", await File.ReadAllTextAsync(gateway.ConfigPath), StringComparison.Ordinal);
        var token = gateway.Keys.Mint();
        using var authz = new HttpClient { BaseAddress = gateway.Server.GetListenerUri("authz") };
        using var admin = new HttpClient { BaseAddress = gateway.AdminUri };

        async Task CheckAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            using var response = await authz.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        async Task<double> HitsAsync() => PrometheusText.Parse(await admin.GetStringAsync("/metrics"))
            .TryGetValue("gatehouse_decision_cache_total", out var family)
                ? family.Samples.Where(s => s.Labels.GetValueOrDefault("result") == "hit").Sum(s => s.Value)
                : 0;

        await CheckAsync();
        await CheckAsync();
        Assert.Equal(1, await HitsAsync());

        await File.WriteAllTextAsync(gateway.ConfigPath, Config(gateway.Upstream.Address, jwksPath!, "{ ttl: 0s }"));
        Assert.True(await gateway.Server.ReloadAsync(), "the reload was refused");
        await CheckAsync();
        await CheckAsync();

        Assert.Equal(1, await HitsAsync());
    }
}
