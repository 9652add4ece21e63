using System.Net;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Tests.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// DPoP through real ext_authz listeners, as Envoy calls them: the HTTP mode (the original request's headers) and the
/// gRPC mode (Grpc.AspNetCore on h2c, the <c>dpop</c> header inside the CheckRequest). The proof is checked like the
/// gateway does, and the denied response carries the DPoP challenge and <c>DPoP-Nonce</c> for Envoy to pass on.
/// </summary>
public sealed class DpopExtAuthzTests
{
    private static readonly Method<CheckRequest, CheckResponse> s_check = new(
        MethodType.Unary,
        "envoy.service.auth.v3.Authorization",
        "Check",
        Marshallers.Create(static (CheckRequest m) => m.ToByteArray(), CheckRequest.Parser.ParseFrom),
        Marshallers.Create(static (CheckResponse m) => m.ToByteArray(), CheckResponse.Parser.ParseFrom));

    private const string Url = "https://api.example.com/orders/1";

    private static Task<GatewayHarness> StartAsync(string listener) => GatewayHarness.StartAsync((upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks)
        .Replace("  - { name: admin, mode: admin", listener + "\n  - { name: admin, mode: admin", StringComparison.Ordinal));

    private static async Task<CheckResponse> GrpcCheckAsync(GrpcChannel channel, string authorization, string? proof)
    {
        // What Envoy's gRPC ext_authz filter sends: the original request's method, host, scheme, path and headers.
        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/1", Host = "api.example.com", Scheme = "https" };
        http.Headers["authorization"] = authorization;
        if (proof is not null)
        {
            http.Headers["dpop"] = proof;
        }

        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
        return await channel.CreateCallInvoker().AsyncUnaryCall(s_check, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), check);
    }

    private static string DeniedHeader(CheckResponse response, string name) =>
        response.DeniedResponse.Headers.Single(h => h.Header.Key == name).Header.Value;

    [Fact]
    public async Task Grpc_ValidProofAllowed_ReplayRefused_MissingProofRefused_WithTheDpopChallenge()
    {
        await using var h = await StartAsync("  - { name: grpc, mode: ext_authz_grpc, address: \"127.0.0.1:0\", ext_authz: { include_error_details: true } }");
        using var client = new DpopClientKey();
        using var channel = GrpcChannel.ForAddress(h.Server.GetListenerUri("grpc"));
        var token = h.Keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, string> { ["jkt"] = client.Thumbprint } });
        var proof = client.Proof("GET", Url, token);

        var allowed = await GrpcCheckAsync(channel, "DPoP " + token, proof);
        var replayed = await GrpcCheckAsync(channel, "DPoP " + token, proof);
        var missing = await GrpcCheckAsync(channel, "DPoP " + token, proof: null);
        var downgraded = await GrpcCheckAsync(channel, "Bearer " + token, proof: null);
        var wrongKey = await GrpcCheckAsync(channel, "DPoP " + token, new DpopClientKey().Proof("GET", Url, token));

        Assert.Equal(0, allowed.Status.Code);
        // Neither the token nor the proof goes upstream.
        Assert.Contains("dpop", allowed.OkResponse.HeadersToRemove);
        Assert.Contains("authorization", allowed.OkResponse.HeadersToRemove);
        foreach (var (denied, reason, error) in new[]
        {
            (replayed, "dpop.replayed", "invalid_dpop_proof"),
            (missing, "dpop.proof_missing", "invalid_dpop_proof"),
            (downgraded, "dpop.proof_missing", "invalid_dpop_proof"),
            (wrongKey, "dpop.binding_mismatch", "invalid_token"),
        })
        {
            Assert.Equal(16, denied.Status.Code); // UNAUTHENTICATED
            Assert.Equal(401, (int)denied.DeniedResponse.Status.Code);
            // RFC 9449 §7.1: the challenge Envoy passes on to the client, with the accepted algorithms.
            var challenge = DeniedHeader(denied, "www-authenticate");
            Assert.StartsWith("DPoP ", challenge, StringComparison.Ordinal);
            Assert.Contains("algs=\"", challenge, StringComparison.Ordinal);
            Assert.Contains(reason, denied.DeniedResponse.Body, StringComparison.Ordinal);
            Assert.Contains("error=\"" + error + "\"", challenge, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Grpc_NonceChallenge_CarriesDpopNonce_AndTheNonceIsThenAccepted()
    {
        await using var h = await StartAsync("  - { name: grpc, mode: ext_authz_grpc, address: \"127.0.0.1:0\", dpop: { nonce: true } }");
        using var client = new DpopClientKey();
        using var channel = GrpcChannel.ForAddress(h.Server.GetListenerUri("grpc"));
        var token = h.Keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, string> { ["jkt"] = client.Thumbprint } });

        var first = await GrpcCheckAsync(channel, "DPoP " + token, client.Proof("GET", Url, token));
        var nonce = DeniedHeader(first, "dpop-nonce");
        var retried = await GrpcCheckAsync(channel, "DPoP " + token, client.Proof("GET", Url, token, nonce));

        Assert.Equal(401, (int)first.DeniedResponse.Status.Code);
        Assert.StartsWith("DPoP error=\"use_dpop_nonce\"", DeniedHeader(first, "www-authenticate"), StringComparison.Ordinal);
        Assert.Equal(0, retried.Status.Code);
    }

    [Fact]
    public async Task Http_BoundTokenWithoutProof_IsRefused_WithTheDpopChallenge()
    {
        await using var h = await StartAsync("  - { name: authz, mode: ext_authz_http, address: \"127.0.0.1:0\", ext_authz: { include_error_details: true } }");
        using var client = new DpopClientKey();
        using var http = new HttpClient { BaseAddress = h.Server.GetListenerUri("authz"), Timeout = TimeSpan.FromSeconds(20) };
        var token = h.Keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, string> { ["jkt"] = client.Thumbprint } });

        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        request.Headers.Host = "api.example.com";
        request.Headers.TryAddWithoutValidation("authorization", "DPoP " + token);
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains("dpop.proof_missing", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

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
