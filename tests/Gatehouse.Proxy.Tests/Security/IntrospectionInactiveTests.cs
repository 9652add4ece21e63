using System.Net;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Gatehouse.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Security;

/// <summary>
/// RFC 7662 §2.2 at the proxy level, independently of the conformance suite's oidc-provider test: an authorization
/// server that answers <c>active: false</c> (or no boolean <c>active</c>) for an opaque token denies the request on
/// the gateway (401, nothing forwarded) and on ext_authz (a denial Envoy enforces), whatever else the answer claims.
/// Real engine, real introspection endpoint, real Kestrel.
/// </summary>
public sealed class IntrospectionInactiveTests
{
    private const string OpaqueToken = "opaque-token-0123456789abcdef";

    private static string Config(string upstream, string jwks)
    {
        var secret = Path.Combine(Path.GetDirectoryName(jwks)!, "introspection-secret");
        File.WriteAllText(secret, "s3cret");
        return $$"""
            version: 1
            issuers:
              corp:
                issuer: {{TestIssuerKeys.Issuer}}
                jwks_file: {{jwks}}
                audiences: [{{TestIssuerKeys.Audience}}]
                introspection: { endpoint: {{upstream}}/introspect, client_id: gatehouse, client_secret_file: {{secret}}, auth_method: client_secret_post, timeout: 5s }
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
              - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0" }
            routes:
              - name: orders
                match: { path_prefix: /orders }
                upstream: {{upstream}}
                authentication: { issuers: [corp], require_token: true }
            policies: {}
            """;
    }

    /// <summary>An introspection endpoint that answers <paramref name="json"/> and otherwise acts as the upstream.</summary>
    private static RequestDelegate Introspection(string json) => async context =>
    {
        if (context.Request.Path == "/introspect")
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(json);
            return;
        }

        await context.Response.WriteAsync("upstream reached");
    };

    // Everything an active token would carry, but active: false: nothing in it may count.
    private static string InactiveWithClaims() =>
        $$"""{"active":false,"iss":"{{TestIssuerKeys.Issuer}}","aud":"{{TestIssuerKeys.Audience}}","sub":"alice","scope":"orders.read","exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}""";

    [Fact]
    public async Task Gateway_ActiveFalse_Is401_TokenInactive_AndNothingIsForwarded()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config, Introspection(InactiveWithClaims()));

        using var response = await gateway.GetAsync("/orders/1", OpaqueToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("token.inactive", response.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains(gateway.Upstream.Received, r => r.Path == "/introspect");
        Assert.DoesNotContain(gateway.Upstream.Received, r => r.Path.StartsWith("/orders", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"active":"true","sub":"alice"}""")]
    [InlineData("""{"active":1,"sub":"alice"}""")]
    [InlineData("""{"sub":"alice"}""")]
    public async Task Gateway_ActiveNotABooleanTrue_IsNeverAnAllow(string json)
    {
        await using var gateway = await GatewayHarness.StartAsync(Config, Introspection(json));

        using var response = await gateway.GetAsync("/orders/1", OpaqueToken);

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(gateway.Upstream.Received, r => r.Path.StartsWith("/orders", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExtAuthzGrpc_ActiveFalse_IsADenial_TokenInactive()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config, Introspection(InactiveWithClaims()));
        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/1", Host = "api.example.com", Scheme = "https" };
        http.Headers["authorization"] = "Bearer " + OpaqueToken;
        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = gateway.Server.GetListenerUri("grpc") };

        var result = await GrpcTestClient.CallAsync(client, GrpcTestClient.Frame(check));

        Assert.Equal(0, result.GrpcStatus);
        Assert.NotEqual(0, result.Response!.Status.Code); // not OK: Envoy denies
        Assert.Equal(401, (int)result.Response.DeniedResponse.Status.Code);
        Assert.Equal("token.inactive", result.Response.Status.Message);
    }
}
