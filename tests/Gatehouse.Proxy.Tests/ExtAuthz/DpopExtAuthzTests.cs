using System.Net;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// DPoP through a real ext_authz_http listener (the decision engine's path, as Envoy calls it): the request's
/// <c>dpop</c> header is checked like the gateway does, and a nonce challenge's <c>DPoP-Nonce</c> reaches the client
/// in the denied response.
/// </summary>
public sealed class DpopExtAuthzTests
{
    [Fact]
    public async Task Proof_IsVerified_NonceHandedOut_ReplayRefused()
    {
        await using var h = await GatewayHarness.StartAsync((upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks)
            .Replace(
                "  - { name: admin, mode: admin",
                "  - { name: authz, mode: ext_authz_http, address: \"127.0.0.1:0\", ext_authz: { include_error_details: true }, dpop: { nonce: true } }\n  - { name: admin, mode: admin",
                StringComparison.Ordinal));
        using var client = new DpopClientKey();
        using var http = new HttpClient { BaseAddress = h.Server.GetListenerUri("authz"), Timeout = TimeSpan.FromSeconds(20) };
        var token = h.Keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, string> { ["jkt"] = client.Thumbprint } });
        const string Url = "https://api.example.com/orders/1";

        async Task<HttpResponseMessage> CheckAsync(string proof)
        {
            // What Envoy's HTTP ext_authz filter sends: the original method, path and headers.
            using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
            request.Headers.Host = "api.example.com";
            request.Headers.TryAddWithoutValidation("x-forwarded-proto", "https");
            request.Headers.TryAddWithoutValidation("authorization", "DPoP " + token);
            request.Headers.TryAddWithoutValidation("dpop", proof);
            return await http.SendAsync(request);
        }

        using var first = await CheckAsync(client.Proof("GET", Url, token));
        var nonce = first.Headers.GetValues("DPoP-Nonce").Single();
        var proof = client.Proof("GET", Url, token, nonce);
        using var allowed = await CheckAsync(proof);
        using var replayed = await CheckAsync(proof);

        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.StartsWith("DPoP error=\"use_dpop_nonce\"", first.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("dpop", allowed.Headers.GetValues("x-envoy-auth-headers-to-remove").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
        Assert.Contains("dpop.replayed", await replayed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
