using System.Net;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Security;

/// <summary>
/// <c>to.ports</c> decides on the port the listener accepted the connection on, not on the port a client writes into
/// its Host header: otherwise "Host: api:8443" would satisfy an ALLOW rule for 8443, or dodge a DENY rule, on a
/// listener that is not 8443 at all.
/// </summary>
public sealed class DestinationPortTests
{
    private static string Config(string upstream, string jwks, string action) => GatewayHarness.DefaultConfig(upstream, jwks,
        routes: $$"""
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { require_token: false }
            policies: [port-rule]
        """,
        policies: $$"""
          port-rule:
            action: {{action}}
            rules:
              - to: { ports: ["8443"] }
        """);

    [Fact]
    public async Task HostHeaderPort_DoesNotSatisfyAnAllowRuleForThatPort()
    {
        await using var harness = await GatewayHarness.StartAsync((u, j) => Config(u, j, "allow"));
        using var response = await harness.GetAsync("/orders/1", configure: r => r.Headers.Host = "api.example.com:8443");
        // Denied (401 with a bare challenge: the request carried no token), and nothing reached the upstream.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("policy.", response.Headers.GetValues("x-gatehouse-reason").Single(), StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Received);
    }

    [Fact]
    public async Task HostHeaderPort_DoesNotTriggerADenyRuleForThatPort_TheListenersPortDecides()
    {
        await using var harness = await GatewayHarness.StartAsync((u, j) => Config(u, j, "deny"));
        using var spoofed = await harness.GetAsync("/orders/1", configure: r => r.Headers.Host = "api.example.com:8443");
        Assert.Equal(HttpStatusCode.OK, spoofed.StatusCode);
    }
}
