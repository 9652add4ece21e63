using System.Net;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// What the upstream receives after Envoy applies an allow answer in its own order (set, then remove —
/// <see cref="EnvoyOrder"/>): the claim headers the answer sets must survive, a client's spoofed values of them must
/// not, and neither must Authorization. Real engine, real config, both ext_authz listeners on real Kestrel.
/// </summary>
public sealed class ExtAuthzHeaderMutationTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync((u, j) => GatewayHarness.DefaultConfig(u, j)
        .Replace(
            "  - { name: admin, mode: admin, address: \"127.0.0.1:0\" }",
            "  - { name: admin, mode: admin, address: \"127.0.0.1:0\" }\n"
            + "  - { name: grpc, mode: ext_authz_grpc, address: \"127.0.0.1:0\" }\n"
            + "  - { name: authz, mode: ext_authz_http, address: \"127.0.0.1:0\" }",
            StringComparison.Ordinal));

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    /// <summary>The original request as the client sent it: a token, and spoofed values of both claim headers.</summary>
    private static List<KeyValuePair<string, string>> ClientHeaders(string token) =>
    [
        new("authorization", "Bearer " + token),
        new("x-auth-subject", "mallory"),
        new("x-auth-scopes", "admin"),
        new("accept", "application/json"),
    ];

    [Fact]
    public async Task Grpc_Allow_EnvoyOrder_KeepsSetClaimHeaders_DropsSpoofsAndAuthorization()
    {
        var headers = ClientHeaders(_gateway.Keys.Mint(scope: "orders.read"));
        var ok = await CheckGrpcAsync(headers);

        var upstream = EnvoyOrder.ApplyGrpc(headers, ok);

        Assert.Equal(["checkout"], upstream["x-auth-subject"]);
        Assert.Equal(["orders.read"], upstream["x-auth-scopes"]);
        Assert.False(upstream.ContainsKey("authorization"));
        Assert.Equal(["application/json"], upstream["accept"]);
        Assert.DoesNotContain("x-auth-subject", ok.HeadersToRemove);
        Assert.DoesNotContain("x-auth-scopes", ok.HeadersToRemove);
    }

    [Fact]
    public async Task Grpc_Allow_RouteSettingNoClaimHeaders_SpoofedClaimHeadersAreRemoved()
    {
        // The route sets no claim headers: every claim header name of the config is removed, so no spoof survives.
        var headers = ClientHeaders(_gateway.Keys.Mint());
        var ok = await CheckGrpcAsync(headers, path: "/forwarding/1");

        var upstream = EnvoyOrder.ApplyGrpc(headers, ok);

        Assert.False(upstream.ContainsKey("x-auth-scopes"));
        Assert.False(upstream.ContainsKey("x-auth-subject"));
        // forward_authorization: true on this route.
        Assert.True(upstream.ContainsKey("authorization"));
    }

    [Fact]
    public async Task Http_Allow_EnvoyOrder_KeepsSetClaimHeaders_DropsSpoofsAndAuthorization()
    {
        var headers = ClientHeaders(_gateway.Keys.Mint(scope: "orders.read"));
        using var client = new HttpClient { BaseAddress = _gateway.Server.GetListenerUri("authz") };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Envoy http_service.authorization_response.allowed_upstream_headers: { patterns: [{ prefix: "x-auth-" }] }
        var upstream = EnvoyOrder.ApplyHttp(headers, response, name => name.StartsWith("x-auth-", StringComparison.Ordinal))!;

        Assert.Equal(["checkout"], upstream["x-auth-subject"]);
        Assert.Equal(["orders.read"], upstream["x-auth-scopes"]);
        Assert.False(upstream.ContainsKey("authorization"));
        var removed = response.Headers.GetValues("x-envoy-auth-headers-to-remove").Single();
        Assert.DoesNotContain("x-auth-subject", removed, StringComparison.Ordinal);
        Assert.DoesNotContain("x-auth-scopes", removed, StringComparison.Ordinal);
    }

    private async Task<OkHttpResponse> CheckGrpcAsync(List<KeyValuePair<string, string>> headers, string path = "/orders/1")
    {
        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = path, Host = "api.example.com", Scheme = "https" };
        http.Headers[":authority"] = "api.example.com";
        http.Headers[":method"] = "GET";
        http.Headers[":path"] = path;
        foreach (var (name, value) in headers)
        {
            http.Headers[name] = value;
        }

        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _gateway.Server.GetListenerUri("grpc") };
        var result = await GrpcTestClient.CallAsync(client, GrpcTestClient.Frame(check));
        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(0, result.Response!.Status.Code);
        return result.Response.OkResponse;
    }
}
