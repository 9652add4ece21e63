using System.Net;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// XFCC trust on the HTTP ext_authz listener, end to end with the real engine and config (independently of the
/// handler tests' scripted decider): only a listener with <c>trust_forwarded_client_cert: true</c> takes the peer's
/// SPIFFE ID from <c>x-forwarded-client-cert</c>; on any other listener a caller who writes the header gains nothing,
/// and a trusted header naming a malformed SPIFFE ID is no identity either.
/// </summary>
public sealed class ExtAuthzXfccTrustTests
{
    private const string Checkout = "spiffe://cluster.local/ns/shop/sa/checkout";

    private static string Config(string upstream, string jwks) => $$"""
        version: 1
        issuers:
          corp:
            issuer: {{TestIssuerKeys.Issuer}}
            jwks_file: {{jwks}}
            audiences: [{{TestIssuerKeys.Audience}}]
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0" }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
          - { name: trusting, mode: ext_authz_http, address: "127.0.0.1:0", trust_forwarded_client_cert: true }
          - { name: plain, mode: ext_authz_http, address: "127.0.0.1:0" }
        routes:
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { require_token: false }
            policies: [checkout-only]
        policies:
          checkout-only:
            action: allow
            rules:
              - from: { principals: ["spiffe://cluster.local/ns/shop/*"] }
        """;

    private static async Task<HttpResponseMessage> CheckAsync(GatewayHarness gateway, string listener, string? xfcc)
    {
        using var client = new HttpClient { BaseAddress = gateway.Server.GetListenerUri(listener), Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        if (xfcc is not null)
        {
            request.Headers.TryAddWithoutValidation("x-forwarded-client-cert", xfcc);
        }

        return await client.SendAsync(request);
    }

    [Fact]
    public async Task TrustingListener_TakesTheIdentity_AndTheAllowRuleMatches()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config);

        using var response = await CheckAsync(gateway, "trusting", $"By=spiffe://cluster.local/ns/orders/sa/orders;URI={Checkout}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task UntrustedListener_IgnoresTheHeader_AndDenies()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config);

        using var response = await CheckAsync(gateway, "plain", $"By=spiffe://cluster.local/ns/orders/sa/orders;URI={Checkout}");

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("policy.", response.Headers.GetValues("x-gatehouse-reason").Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("URI=spiffe://cluster.local/ns/shop/../admin/sa/x")]
    [InlineData("URI=spiffe://cluster.local/ns/shop//sa/x")]
    [InlineData("URI=SPIFFE://CLUSTER.LOCAL/ns/shop/sa/x")]
    public async Task TrustingListener_MalformedSpiffeId_IsNoIdentity(string xfcc)
    {
        await using var gateway = await GatewayHarness.StartAsync(Config);

        using var response = await CheckAsync(gateway, "trusting", xfcc);

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }
}
