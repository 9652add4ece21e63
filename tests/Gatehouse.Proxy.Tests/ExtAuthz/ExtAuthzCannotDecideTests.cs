using System.Net;
using System.Text.Json;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Gatehouse.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// "Cannot decide" (introspection down, overload) must reach Envoy as a denial it enforces even with
/// <c>failure_mode_allow: true</c>: the HTTP listener never answers a 5xx (Envoy's RawHttpClientImpl::toResponse makes
/// every 5xx an error), the gRPC listener answers in band (grpc-status 0, a CheckResponse denying with 503).
/// Real engine, real introspection endpoint, real Kestrel.
/// </summary>
public sealed class ExtAuthzCannotDecideTests
{
    private static string Config(string upstream, string jwks, string extra = "")
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
              - { name: authz, mode: ext_authz_http, address: "127.0.0.1:0" }
              - { name: authz-429, mode: ext_authz_http, address: "127.0.0.1:0", ext_authz: { status_on_unavailable: 429 } }
            routes:
              - name: orders
                match: { path_prefix: /orders }
                upstream: {{upstream}}
                authentication: { issuers: [corp], require_token: true }
            policies: {}
            {{extra}}
            """;
    }

    [Fact]
    public async Task IntrospectionDown_Http_Answers403_WithIntended503_NeverA5xx()
    {
        await using var gateway = await GatewayHarness.StartAsync((u, j) => Config(u, j), IntrospectionFails);

        using var response = await CheckHttpAsync(gateway, "authz");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("503", response.Headers.GetValues("x-gatehouse-intended-status").Single());
        Assert.Equal("introspection.unavailable", response.Headers.GetValues("x-gatehouse-reason").Single());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("unavailable", body.RootElement.GetProperty("error").GetString());
        Assert.Equal("introspection.unavailable", body.RootElement.GetProperty("reasons")[0].GetString());
        // What Envoy makes of it: a 403 is a Denied response (not 200 → no allow; not 5xx → not an error).
        Assert.Null(EnvoyOrder.ApplyHttp([], response, _ => true));
    }

    [Fact]
    public async Task IntrospectionDown_Http_StatusOnUnavailable_IsConfigurable()
    {
        await using var gateway = await GatewayHarness.StartAsync((u, j) => Config(u, j), IntrospectionFails);

        using var response = await CheckHttpAsync(gateway, "authz-429");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("503", response.Headers.GetValues("x-gatehouse-intended-status").Single());
    }

    [Fact]
    public async Task IntrospectionDown_Grpc_AnswersInBand_Denied503()
    {
        await using var gateway = await GatewayHarness.StartAsync((u, j) => Config(u, j), IntrospectionFails);

        var result = await CheckGrpcAsync(gateway);

        Assert.Equal(0, result.GrpcStatus); // OK at the transport: Envoy reads the answer, failure_mode_allow plays no part
        Assert.Equal(14, result.Response!.Status.Code); // UNAVAILABLE → Envoy denies
        Assert.Equal(503, (int)result.Response.DeniedResponse.Status.Code);
        Assert.Equal("introspection.unavailable", result.Response.Status.Message);
    }

    [Fact]
    public async Task Overloaded_BothProtocols_ShedInBand_AsDenials()
    {
        var introspectionReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var gateway = await GatewayHarness.StartAsync(
            (u, j) => Config(u, j, "limits: { max_concurrent_requests: 1 }"),
            async context =>
            {
                introspectionReached.TrySetResult();
                await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
                await IntrospectionFails(context);
            });

        // One check occupies the only slot (its introspection call is held open).
        var first = CheckHttpAsync(gateway, "authz");
        await introspectionReached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            using var http = await CheckHttpAsync(gateway, "authz");
            Assert.Equal(HttpStatusCode.Forbidden, http.StatusCode);
            Assert.Equal("503", http.Headers.GetValues("x-gatehouse-intended-status").Single());
            Assert.Equal("server.overloaded", http.Headers.GetValues("x-gatehouse-reason").Single());

            var grpc = await CheckGrpcAsync(gateway);
            Assert.Equal(0, grpc.GrpcStatus);
            Assert.Equal(14, grpc.Response!.Status.Code);
            Assert.Equal(503, (int)grpc.Response.DeniedResponse.Status.Code);
            Assert.Equal("server.overloaded", grpc.Response.Status.Message);
        }
        finally
        {
            release.TrySetResult();
            (await first).Dispose();
        }
    }

    private static async Task IntrospectionFails(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        await context.Response.WriteAsync("down");
    }

    private static async Task<HttpResponseMessage> CheckHttpAsync(GatewayHarness gateway, string listener)
    {
        using var client = new HttpClient { BaseAddress = gateway.Server.GetListenerUri(listener), Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer opaque-token-0123456789");
        return await client.SendAsync(request);
    }

    private static async Task<GrpcCallResult> CheckGrpcAsync(GatewayHarness gateway)
    {
        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/1", Host = "api.example.com", Scheme = "https" };
        http.Headers["authorization"] = "Bearer opaque-token-0123456789";
        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = gateway.Server.GetListenerUri("grpc") };
        return await GrpcTestClient.CallAsync(client, GrpcTestClient.Frame(check));
    }
}
