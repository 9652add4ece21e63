using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Tests.TestSupport;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Proxy.Tests.TxnTokens;

/// <summary>
/// The <c>txn-token</c> header read by every host that decides (draft-ietf-oauth-transaction-tokens-10 §8): an
/// inbound sidecar listener (forwarding the header on unchanged to its app), the ext_authz gRPC service (Envoy's
/// CheckRequest headers map, lower-cased keys) and the ext_authz HTTP service, all on a real running Gatehouse.
/// </summary>
public sealed class TxnTokenHostTests : IAsyncLifetime
{
    private const string TxnIssuer = "https://txn.shop.example";
    private const string TrustDomain = "shop.example";

    private static readonly Method<CheckRequest, CheckResponse> s_check = new(
        MethodType.Unary,
        "envoy.service.auth.v3.Authorization",
        "Check",
        Marshallers.Create(static (CheckRequest m) => m.ToByteArray(), CheckRequest.Parser.ParseFrom),
        Marshallers.Create(static (CheckResponse m) => m.ToByteArray(), CheckResponse.Parser.ParseFrom));

    private readonly ECDsaSecurityKey _txnKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "txn-1" };
    private readonly ECDsaSecurityKey _rogueKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "txn-1" };
    private GatewayHarness _harness = null!;

    public async Task InitializeAsync()
    {
        _harness = await GatewayHarness.StartAsync((u, j) =>
        {
            var txnJwks = Path.Combine(Path.GetDirectoryName(j)!, "txn-jwks.json");
            File.WriteAllText(txnJwks, Jwks(_txnKey));
            return $$"""
                version: 1
                issuers:
                  corp: { issuer: "{{TestIssuerKeys.Issuer}}", jwks_file: {{j}}, audiences: [{{TestIssuerKeys.Audience}}], algorithms: [RS256, ES256] }
                  txn: { kind: txn_token, issuer: "{{TxnIssuer}}", jwks_file: {{txnJwks}}, audiences: [{{TrustDomain}}], algorithms: [ES256], clock_skew: 5s }
                listeners:
                  - { name: edge, mode: inbound, address: "127.0.0.1:0", include_error_details: true }
                  - { name: admin, mode: admin, address: "127.0.0.1:0" }
                  - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0", ext_authz: { include_error_details: true } }
                  - { name: http, mode: ext_authz_http, address: "127.0.0.1:0", ext_authz: { include_error_details: true } }
                routes:
                  - name: payments
                    match: { path_prefix: /payments }
                    upstream: {{u}}
                    authentication: { issuers: [txn] }
                    policies: [checkout-only]
                policies:
                  checkout-only:
                    action: allow
                    rules:
                      - when: { "claims.tctx.route": [checkout], scopes: [payments.charge] }
                """;
        });
    }

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        _txnKey.ECDsa.Dispose();
        _rogueKey.ECDsa.Dispose();
    }

    private static string Jwks(ECDsaSecurityKey key)
    {
        var p = key.ECDsa.ExportParameters(false);
        return JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", kid = key.KeyId, use = "sig", alg = "ES256", crv = "P-256", x = Base64UrlEncoder.Encode(p.Q.X), y = Base64UrlEncoder.Encode(p.Q.Y) } },
        });
    }

    private string Mint(string route = "checkout", ECDsaSecurityKey? key = null, string typ = "txntoken+jwt")
    {
        var now = DateTimeOffset.UtcNow;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = typ,
            Claims = new Dictionary<string, object>
            {
                ["iss"] = TxnIssuer,
                ["aud"] = TrustDomain,
                ["sub"] = "user-42",
                ["iat"] = now.ToUnixTimeSeconds(),
                ["exp"] = now.AddSeconds(60).ToUnixTimeSeconds(),
                ["txn"] = "txn-host-1",
                ["scope"] = "payments.charge",
                ["req_wl"] = "spiffe://shop.example/ns/edge/sa/gateway",
                ["tctx"] = new Dictionary<string, object> { ["route"] = route },
            },
            SigningCredentials = new SigningCredentials(key ?? _txnKey, SecurityAlgorithms.EcdsaSha256),
        });
    }

    private async Task<HttpResponseMessage> Inbound(string? txnToken, string? bearer = null) =>
        await _harness.GetAsync("/payments/charge", bearer, r =>
        {
            if (txnToken is not null)
            {
                r.Headers.TryAddWithoutValidation("txn-token", txnToken);
            }
        }, HttpMethod.Post);

    private static string Reason(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-gatehouse-reason", out var values) ? values.First() : "";

    [Fact]
    public async Task Inbound_listener_verifies_the_header_and_passes_it_on_unchanged()
    {
        var token = Mint();

        using var allowed = await Inbound(token);
        using var otherRoute = await Inbound(Mint(route: "search"));
        using var resigned = await Inbound(Mint(key: _rogueKey));
        using var accessToken = await Inbound(_harness.Keys.Mint());
        using var inAuthorization = await Inbound(txnToken: null, bearer: token);

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(token, _harness.Upstream.Received.Single().Headers["txn-token"]);
        Assert.Equal((HttpStatusCode.Forbidden, "policy.no_allow_match"), (otherRoute.StatusCode, Reason(otherRoute)));
        Assert.Equal((HttpStatusCode.Unauthorized, "token.signature_invalid"), (resigned.StatusCode, Reason(resigned)));
        Assert.Equal((HttpStatusCode.Unauthorized, "txn_token.typ_invalid"), (accessToken.StatusCode, Reason(accessToken)));
        Assert.Equal((HttpStatusCode.Unauthorized, "txn_token.in_authorization"), (inAuthorization.StatusCode, Reason(inAuthorization)));
        Assert.Single(_harness.Upstream.Received);
    }

    [Fact]
    public async Task Ext_authz_grpc_reads_the_lower_cased_header_from_the_check_request()
    {
        using var channel = GrpcChannel.ForAddress(_harness.Server.GetListenerUri("grpc"));

        var allowed = await Check(channel, Mint());
        var wrongRoute = await Check(channel, Mint(route: "search"));
        var forged = await Check(channel, Mint(key: _rogueKey));
        var none = await Check(channel, txnToken: null);

        Assert.Equal(0, allowed.Status.Code);
        Assert.Equal(403, (int)wrongRoute.DeniedResponse.Status.Code);
        Assert.Equal(401, (int)forged.DeniedResponse.Status.Code);
        Assert.Contains("token.signature_invalid", forged.DeniedResponse.Body, StringComparison.Ordinal);
        Assert.Equal(401, (int)none.DeniedResponse.Status.Code);
    }

    [Fact]
    public async Task Ext_authz_http_reads_the_header_envoy_forwards()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _harness.Server.GetListenerUri("http") };

        async Task<HttpStatusCode> Ask(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/payments/charge");
            request.Headers.TryAddWithoutValidation("txn-token", token);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Ask(Mint()));
        Assert.Equal(HttpStatusCode.Forbidden, await Ask(Mint(route: "search")));
        Assert.Equal(HttpStatusCode.Unauthorized, await Ask(Mint(typ: "at+jwt")));
    }

    private static async Task<CheckResponse> Check(GrpcChannel channel, string? txnToken)
    {
        var http = new AttributeContext.Types.HttpRequest { Method = "POST", Path = "/payments/charge", Host = "payments.shop.example", Scheme = "https" };
        if (txnToken is not null)
        {
            // Envoy hands request headers over lower-cased (HTTP/2 field names, RFC 9113 §8.2.1).
            http.Headers["txn-token"] = txnToken;
        }

        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
        return await channel.CreateCallInvoker().AsyncUnaryCall(s_check, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), check);
    }
}
