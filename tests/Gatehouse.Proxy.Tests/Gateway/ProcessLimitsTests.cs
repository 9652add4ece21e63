using System.Net;
using Gatehouse.Tests.TestSupport;
using Gatehouse.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Tests.Gateway;

/// <summary>Process-wide limits from <c>limits:</c>: applied at startup, and a reload that changes them says so.</summary>
public sealed class ProcessLimitsTests
{
    private const int CacheBound = 16;

    private static string WithCacheBound(string upstream, string jwks) =>
        GatewayHarness.DefaultConfig(upstream, jwks, extra: $"limits:\n  max_verified_token_cache_entries: {CacheBound}");

    [Fact]
    public async Task VerifiedTokenCache_ConfiguredBound_KeepsTheCountBounded()
    {
        await using var gateway = await GatewayHarness.StartAsync(WithCacheBound);
        var tokens = gateway.Server.Services.GetRequiredService<TokenAuthenticator>();

        for (var i = 0; i < 3 * CacheBound; i++)
        {
            var token = gateway.Keys.Mint(overrides: new Dictionary<string, object?> { ["jti"] = "bound-" + i });
            using var response = await gateway.GetAsync("/orders", token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.InRange(tokens.VerifiedCacheCount, 1, CacheBound);
        }
    }

    [Fact]
    public async Task Reload_ChangedVerifiedTokenCacheBound_LogsRestartRequired_AppliesTheRest()
    {
        var logs = new List<string>();
        await using var gateway = await GatewayHarness.StartAsync(WithCacheBound, logSink: logs);
        var token = gateway.Keys.Mint("orders.read");

        var yaml = await File.ReadAllTextAsync(gateway.ConfigPath);
        await File.WriteAllTextAsync(gateway.ConfigPath, yaml
            .Replace($"max_verified_token_cache_entries: {CacheBound}", "max_verified_token_cache_entries: 4096", StringComparison.Ordinal)
            .Replace("required_scopes: [orders.read]", "required_scopes: [orders.write]", StringComparison.Ordinal));

        Assert.True(await gateway.Server.ReloadAsync());
        using var response = await gateway.GetAsync("/orders", token);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode); // the route change is in force
        string[] lines;
        lock (logs)
        {
            lines = [.. logs];
        }

        Assert.Contains(lines, l => l.Contains("[1005]", StringComparison.Ordinal)
            && l.Contains("limits.max_verified_token_cache_entries", StringComparison.Ordinal));
    }
}
