using System.Globalization;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Observability;

/// <summary>
/// HttpClient's own meters record nothing per proxied request (the forwarder's handlers measure through
/// UpstreamMeters, which /metrics drops), while any other HttpClient of the process — the backchannel's kind — is still
/// exported as <c>http_client_request_duration_seconds</c> (docs/observability.md, docs/performance.md "Profile").
/// </summary>
public sealed class UpstreamMetersTests
{
    [Fact]
    public async Task ProxiedRequests_AddNoHttpClientSeries_WhileAPlainHttpClientCallIsStillExported()
    {
        await using var gateway = await GatewayHarness.StartAsync();
        var token = gateway.Keys.Mint();
        for (var i = 0; i < 3; i++)
        {
            using var proxied = await gateway.GetAsync("/orders/1", token);
            Assert.Equal(System.Net.HttpStatusCode.OK, proxied.StatusCode);
        }

        // One direct call to the same upstream with the default (shared) meter: the exporter must see exactly this one.
        var upstream = new Uri(gateway.Upstream.Address);
        using (var direct = new HttpClient())
        using (await direct.GetAsync(new Uri(upstream, "/orders/1"))) { }

        using var admin = new HttpClient { BaseAddress = gateway.AdminUri };
        var families = PrometheusText.Parse(await admin.GetStringAsync("/metrics"));
        var port = upstream.Port.ToString(CultureInfo.InvariantCulture);
        var calls = families.TryGetValue("http_client_request_duration_seconds", out var family)
            ? family.Samples.Where(s => s.Name == "http_client_request_duration_seconds_count"
                && s.Labels.TryGetValue("server_port", out var p) && p == port).Sum(s => s.Value)
            : 0;
        Assert.Equal(1, calls);
    }
}
