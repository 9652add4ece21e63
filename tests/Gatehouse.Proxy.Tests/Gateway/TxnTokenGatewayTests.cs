using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Tests.TestSupport;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// <c>txn_tokens.mint_at_gateway</c> on a real gateway and upstream: an allowed request reaches the upstream with a
/// fresh Txn-Token and without the external token (unless the route forwards it), a client-sent Txn-Token never
/// passes, a denied request gets none, and the token's claims narrow the scope and describe the request.
/// </summary>
public sealed class TxnTokenGatewayTests : IAsyncLifetime
{
    private GatewayHarness _harness = null!;

    public async Task InitializeAsync()
    {
        _harness = await GatewayHarness.StartAsync((upstream, jwks) =>
        {
            using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            {
                File.WriteAllText(Path.Combine(Path.GetDirectoryName(jwks)!, "txn.pem"), ec.ExportPkcs8PrivateKeyPem());
            }
            return GatewayHarness.DefaultConfig(upstream, jwks, routes: $$"""
                  - name: orders
                    match: { path_prefix: /orders }
                    upstream: {{upstream}}
                    authentication: { issuers: [corp], require_token: true }
                    policies: [orders-access]
                  - name: forwarding
                    match: { path_prefix: /forwarding }
                    upstream: {{upstream}}
                    authentication: { issuers: [corp], require_token: true, forward_authorization: true }
                  - name: public
                    match: { path_prefix: /public }
                    upstream: {{upstream}}
                    authentication: { issuers: [corp], require_token: false }
                """, policies: """
                  orders-access:
                    action: allow
                    rules:
                      - to: { methods: [GET] }
                        when: { scopes: [orders.read] }
                      - to: { methods: [POST] }
                        when: { scopes: [orders.write] }
                """, extra: """
                txn_tokens:
                  issuer: https://txn.shop.example
                  audience: shop.example
                  lifetime: 30s
                  signing_key: { file: txn.pem, key_id: gw-1 }
                  mint_at_gateway: true
                  workload: spiffe://shop.example/ns/edge/sa/gateway
                audit: { path: audit.jsonl }
                """);
        });
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private static JsonElement Claims(string token) =>
        JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[1])).RootElement.Clone();

    [Fact]
    public async Task AllowedRequest_ReachesTheUpstreamWithATxnToken_AndWithoutTheExternalToken()
    {
        using var response = await _harness.GetAsync("/orders/./7", _harness.Keys.Mint("orders.read orders.write profile"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = _harness.Upstream.Last();
        Assert.False(received.Headers.ContainsKey("authorization"));
        var token = received.Headers["txn-token"];
        var claims = Claims(token);
        Assert.Equal("checkout", claims.GetProperty("sub").GetString());
        // Narrowed to what the deciding rule (orders-access/rule0) asked for: not orders.write, not profile.
        Assert.Equal("orders.read", claims.GetProperty("scope").GetString());
        Assert.Equal("spiffe://shop.example/ns/edge/sa/gateway", claims.GetProperty("req_wl").GetString());
        Assert.Equal("127.0.0.1", claims.GetProperty("rctx").GetProperty("req_ip").GetString());
        Assert.Equal("checkout-client", claims.GetProperty("rctx").GetProperty("client_id").GetString());
        var tctx = claims.GetProperty("tctx");
        Assert.Equal(("GET", "/orders/7", "orders"), (tctx.GetProperty("method").GetString(), tctx.GetProperty("path").GetString(), tctx.GetProperty("route").GetString()));
        Assert.Equal(30, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        // txn = the trace id and span id of the traceparent the upstream received.
        var traceparent = received.Headers["traceparent"].Split('-');
        Assert.Equal(traceparent[1] + "-" + traceparent[2], claims.GetProperty("txn").GetString());

        using var admin = new HttpClient();
        var jwks = new JsonWebKeySet(await admin.GetStringAsync(new Uri(_harness.AdminUri, "/.well-known/jwks.json")));
        var valid = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = "https://txn.shop.example",
            ValidAudience = "shop.example",
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidTypes = ["txntoken+jwt"],
        });
        Assert.True(valid.IsValid, valid.Exception?.Message);
    }

    [Fact]
    public async Task ForwardAuthorizationRoute_KeepsTheExternalToken_BesideTheTxnToken()
    {
        var external = _harness.Keys.Mint();

        using var response = await _harness.GetAsync("/forwarding/x", external);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = _harness.Upstream.Last();
        Assert.Equal("Bearer " + external, received.Headers["authorization"]);
        Assert.True(received.Headers.ContainsKey("txn-token"));
        // No policy named a scope on this route: the Txn-Token carries none rather than the external token's.
        Assert.Equal("", Claims(received.Headers["txn-token"]).GetProperty("scope").GetString());
    }

    [Fact]
    public async Task ClientSentTxnToken_NeverReachesTheUpstream()
    {
        const string Injected = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.";

        using var allowed = await _harness.GetAsync("/orders/1", _harness.Keys.Mint(), r => r.Headers.TryAddWithoutValidation("Txn-Token", Injected));
        var minted = _harness.Upstream.Last().Headers["txn-token"];
        using var open = await _harness.GetAsync("/public/1", configure: r => r.Headers.TryAddWithoutValidation("txn-token", Injected));
        var publicRequest = _harness.Upstream.Last();

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.NotEqual(Injected, minted);
        Assert.DoesNotContain(",", minted, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.False(publicRequest.Headers.ContainsKey("txn-token"));
    }

    [Fact]
    public async Task DeniedRequest_GetsNoTxnToken_ButItsAuditRecordCarriesTheTxn()
    {
        var before = _harness.Upstream.Received.Count;

        using var response = await _harness.GetAsync("/orders/1", _harness.Keys.Mint("profile"), method: HttpMethod.Post);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, _harness.Upstream.Received.Count);
        await _harness.Server.FlushAuditAsync();
        var denied = File.ReadAllLines(Path.Combine(_harness.Directory, "audit.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Last(r => r.GetProperty("decision").GetString() == "deny");
        Assert.Equal("POST", denied.GetProperty("method").GetString());
        Assert.Matches("^[0-9a-f]{32}-[0-9a-f]{16}$", denied.GetProperty("txn").GetString());
    }

    [Fact]
    public async Task ReplayedTraceparent_StillGetsAUniqueTxn()
    {
        const string Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        var token = _harness.Keys.Mint();

        using var first = await _harness.GetAsync("/orders/1", token, r => r.Headers.TryAddWithoutValidation("traceparent", Traceparent));
        var a = Claims(_harness.Upstream.Last().Headers["txn-token"]).GetProperty("txn").GetString()!;
        using var second = await _harness.GetAsync("/orders/1", token, r => r.Headers.TryAddWithoutValidation("traceparent", Traceparent));
        var b = Claims(_harness.Upstream.Last().Headers["txn-token"]).GetProperty("txn").GetString()!;

        Assert.StartsWith("4bf92f3577b34da6a3ce929d0e0e4736-", a, StringComparison.Ordinal);
        Assert.StartsWith("4bf92f3577b34da6a3ce929d0e0e4736-", b, StringComparison.Ordinal);
        Assert.NotEqual(a, b);
    }
}
