using System.Text.Json.Nodes;
using Gatehouse.Audit;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;
using Gatehouse.Tests.Review;
using Gatehouse.Tests.Tokens;

namespace Gatehouse.Tests.Decisions;

/// <summary>
/// Transaction Tokens (draft-ietf-oauth-transaction-tokens-10) through the one decision path: an issuer with
/// <c>kind: txn_token</c> read from the <c>txn-token</c> header only, its typ, audience (the trust domain), lifetime
/// and <c>txn</c> checks, no confusion with access tokens in either direction, policies on nested Txn-Token claims
/// through the real policy engine, and the transaction in the decision and its audit record.
/// </summary>
public sealed class TxnTokenDecisionTests : IAsyncLifetime
{
    private const string TxnIssuer = "https://txn.shop.example";
    private const string TrustDomain = "shop.example";
    private static readonly Lazy<TestKey> s_txnKey = new(() => TestKey.Ec("txn-1"));
    private static readonly Lazy<TestKey> s_rogueKey = new(() => TestKey.Ec("txn-1"));

    private ReviewEngine _engine = null!;
    private string _dir = null!;

    public async Task InitializeAsync()
    {
        _dir = Gatehouse.Testing.TestTemp.CreateDirectory("txn-");
        var jwks = Path.Combine(_dir, "txn.json");
        await File.WriteAllTextAsync(jwks, TestKey.Jwks(s_txnKey.Value));
        _engine = await ReviewEngine.CreateAsync(
            issuersExtra: $$"""
                  txn:
                    kind: txn_token
                    issuer: {{TxnIssuer}}
                    jwks_file: {{jwks}}
                    audiences: [{{TrustDomain}}]
                    algorithms: [ES256]
                    clock_skew: 5s
                    max_lifetime: 2m
                """,
            routes: """
                  - name: payments
                    match: { path_prefix: /payments }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [txn] }
                    policies: [checkout-only]
                  - name: mixed
                    match: { path_prefix: /mixed }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp, txn] }
                  - name: orders
                    match: { path_prefix: /orders }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp] }
                  - name: dpop-only
                    match: { path_prefix: /dpop }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp, txn], require_dpop: true }
                """,
            policies: """
                  checkout-only:
                    action: allow
                    rules:
                      - when:
                          "claims.tctx.route": [checkout]
                          "claims.req_wl": ["spiffe://shop.example/ns/shop/sa/orders"]
                          "claims.rctx.req_ip": ["203.0.113.*"]
                          scopes: [payments.charge]
                      - to: { paths: [/payments/audit] }
                        when: { "claims.txn": [txn-audit-1] }
                      - to: { paths: [/payments/last-hop] }
                        when: { "claims.req_wl": ["*,spiffe://shop.example/ns/shop/sa/orders"] }
                """);
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private static JsonObject TxnClaims(string route = "checkout", JsonNode? reqWl = null, string txn = "txn-7f3a", TimeSpan? lifetime = null, DateTimeOffset? issuedAt = null)
    {
        var iat = issuedAt ?? DateTimeOffset.UtcNow;
        return new JsonObject
        {
            ["iss"] = TxnIssuer,
            ["aud"] = TrustDomain,
            ["sub"] = "user-42",
            ["iat"] = iat.ToUnixTimeSeconds(),
            ["exp"] = (iat + (lifetime ?? TimeSpan.FromSeconds(60))).ToUnixTimeSeconds(),
            ["txn"] = txn,
            ["scope"] = "payments.charge orders.read",
            ["req_wl"] = reqWl ?? new JsonArray("spiffe://shop.example/ns/edge/sa/gateway", "spiffe://shop.example/ns/shop/sa/orders"),
            ["rctx"] = new JsonObject { ["req_ip"] = "203.0.113.9", ["authn"] = "urn:ietf:rfc:6749" },
            ["tctx"] = new JsonObject { ["route"] = route, ["method"] = "POST", ["path"] = "/checkout" },
        };
    }

    private static string Txn(JsonObject claims, TestKey? key = null, string typ = "txntoken+jwt") =>
        TestTokens.Sign(key ?? s_txnKey.Value, claims, header: h => h["typ"] = typ);

    private Task<Decision> Decide(string path, string? txnToken = null, string? bearer = null, string peer = "spiffe://shop.example/ns/shop/sa/orders")
    {
        var headers = new Dictionary<string, string>();
        if (txnToken is not null)
        {
            headers["txn-token"] = txnToken;
        }

        return _engine.DecideAsync(ReviewEngine.Request(path, method: "POST", token: bearer, headers: headers, peer: peer)).AsTask();
    }

    [Fact]
    public async Task Valid_txn_token_from_the_header_is_the_principal_and_names_the_transaction()
    {
        var decision = await Decide("/payments/charge", Txn(TxnClaims()));

        Assert.True(decision.Allowed, string.Join(",", decision.Reasons));
        Assert.Equal("user-42", decision.Principal!.Subject);
        Assert.Equal("spiffe://shop.example/ns/shop/sa/orders", decision.Principal.Workload);
        Assert.Equal("txn_token", decision.Token!.Kind);
        Assert.Equal("txn-7f3a", decision.Transaction!.Id);
        Assert.Equal("checkout", decision.Transaction.Route);
        Assert.Equal(["spiffe://shop.example/ns/edge/sa/gateway", "spiffe://shop.example/ns/shop/sa/orders"], decision.Transaction.RequestingWorkloads);
        Assert.True(decision.Transaction.Verified);
    }

    [Fact]
    public async Task Policy_reaches_nested_txn_claims_tctx_route_decides()
    {
        var fromSearch = await Decide("/payments/charge", Txn(TxnClaims(route: "search")));

        Assert.False(fromSearch.Allowed);
        Assert.Equal(403, fromSearch.StatusCode);
        Assert.Equal(ReasonCodes.PolicyNoAllowMatch, fromSearch.Reasons[0]);
        Assert.Equal("txn-7f3a", fromSearch.Transaction!.Id);
    }

    [Fact]
    public async Task Policy_reads_req_wl_as_a_string_or_an_array()
    {
        var single = await Decide("/payments/charge", Txn(TxnClaims(reqWl: JsonValue.Create("spiffe://shop.example/ns/shop/sa/orders"))));
        var otherWorkload = await Decide("/payments/charge", Txn(TxnClaims(reqWl: JsonValue.Create("spiffe://shop.example/ns/shop/sa/cart"))));

        Assert.True(single.Allowed, string.Join(",", single.Reasons));
        Assert.Equal(["spiffe://shop.example/ns/shop/sa/orders"], single.Transaction!.RequestingWorkloads);
        Assert.False(otherWorkload.Allowed);
        var replaced = await Decide("/payments/audit", Txn(TxnClaims(txn: "txn-audit-1", reqWl: JsonValue.Create("spiffe://shop.example/ns/edge/sa/gateway, spiffe://shop.example/ns/shop/sa/orders"))));
        Assert.Equal(["spiffe://shop.example/ns/edge/sa/gateway", "spiffe://shop.example/ns/shop/sa/orders"], replaced.Transaction!.RequestingWorkloads);

        // After a replacement req_wl is the comma-separated chain: a suffix pattern names the latest requester.
        var lastHop = await Decide("/payments/last-hop", Txn(TxnClaims(reqWl: JsonValue.Create("spiffe://shop.example/ns/edge/sa/gateway,spiffe://shop.example/ns/shop/sa/orders"))));
        var notLast = await Decide("/payments/last-hop", Txn(TxnClaims(reqWl: JsonValue.Create("spiffe://shop.example/ns/shop/sa/orders,spiffe://shop.example/ns/shop/sa/cart"))));
        Assert.True(lastHop.Allowed, string.Join(",", lastHop.Reasons));
        Assert.False(notLast.Allowed);
    }

    [Fact]
    public async Task Policy_reads_rctx_and_txn()
    {
        var claims = TxnClaims(txn: "txn-audit-1");
        claims["rctx"]!["req_ip"] = "198.51.100.1";
        var wrongIp = await Decide("/payments/charge", Txn(claims));
        var byTxn = await Decide("/payments/audit", Txn(claims));

        Assert.False(wrongIp.Allowed);
        Assert.True(byTxn.Allowed, string.Join(",", byTxn.Reasons));
    }

    [Fact]
    public async Task Txn_token_in_authorization_is_refused_on_txn_only_and_on_access_routes()
    {
        var txn = Txn(TxnClaims());

        var txnRoute = await Decide("/payments/charge", bearer: txn);
        var accessRoute = await Decide("/orders/1", bearer: txn);
        var mixedRoute = await Decide("/mixed/1", bearer: txn);

        Assert.Equal((401, ReasonCodes.TxnTokenInAuthorization), (txnRoute.StatusCode, txnRoute.Reasons[0]));
        Assert.Equal((401, ReasonCodes.TxnTokenInAuthorization), (accessRoute.StatusCode, accessRoute.Reasons[0]));
        Assert.Equal((401, ReasonCodes.TxnTokenInAuthorization), (mixedRoute.StatusCode, mixedRoute.Reasons[0]));
    }

    [Fact]
    public async Task Access_token_in_the_txn_token_header_is_refused_by_typ()
    {
        var access = ReviewEngine.Corp();

        var decision = await Decide("/mixed/1", txnToken: access);
        // Even an access token typed like a Txn-Token but from another issuer (not the service) is refused.
        var retyped = await Decide("/mixed/1", txnToken: TestTokens.Sign(ReviewEngine.CorpKey, ReviewEngine.Claims(), header: h => h["typ"] = "txntoken+jwt"));

        Assert.Equal((401, ReasonCodes.TxnTokenTypeInvalid), (decision.StatusCode, decision.Reasons[0]));
        Assert.Equal((401, ReasonCodes.TokenIssuerUnknown), (retyped.StatusCode, retyped.Reasons[0]));
    }

    [Theory]
    [InlineData("TxnToken+JWT")]
    [InlineData("application/txntoken+jwt")]
    [InlineData("JWT")]
    public async Task Typ_must_be_exactly_txntoken_jwt(string typ)
    {
        var decision = await Decide("/payments/charge", Txn(TxnClaims(), typ: typ));

        Assert.Equal((401, ReasonCodes.TxnTokenTypeInvalid), (decision.StatusCode, decision.Reasons[0]));
    }

    [Fact]
    public async Task Expired_txn_token_is_refused_after_its_short_exp_and_recorded_unverified()
    {
        var expired = Txn(TxnClaims(issuedAt: DateTimeOffset.UtcNow.AddSeconds(-70)));

        var decision = await Decide("/payments/charge", expired);

        Assert.Equal((401, ReasonCodes.TokenExpired), (decision.StatusCode, decision.Reasons[0]));
        Assert.False(decision.Transaction!.Verified);
        var record = AuditRecord.Create(decision, ReviewEngine.Request("/payments/charge"), TimeSpan.Zero, DateTimeOffset.UtcNow, includeQuery: false);
        var json = JsonNode.Parse(record.ToJson())!;
        Assert.Equal("txn-7f3a", (string?)json["txn"]);
        Assert.True((bool?)json["txn_unverified"]);
    }

    [Fact]
    public async Task Wrong_audience_resigned_and_unknown_key_are_refused()
    {
        var wrongAud = TxnClaims();
        wrongAud["aud"] = "other.example";

        var audience = await Decide("/payments/charge", Txn(wrongAud));
        var resigned = await Decide("/payments/charge", Txn(TxnClaims(), key: s_rogueKey.Value));
        var tampered = Txn(TxnClaims());
        var parts = tampered.Split('.');
        var forged = parts[0] + "." + TestKey.B64(TxnClaims(route: "admin").ToJsonString()) + "." + parts[2];
        var forgedDecision = await Decide("/payments/charge", forged);

        Assert.Equal((401, ReasonCodes.TokenAudienceMismatch), (audience.StatusCode, audience.Reasons[0]));
        Assert.Equal((401, ReasonCodes.TokenSignatureInvalid), (resigned.StatusCode, resigned.Reasons[0]));
        Assert.Equal((401, ReasonCodes.TokenSignatureInvalid), (forgedDecision.StatusCode, forgedDecision.Reasons[0]));
    }

    [Fact]
    public async Task Long_lived_token_signed_with_the_right_key_is_refused()
    {
        var decision = await Decide("/payments/charge", Txn(TxnClaims(lifetime: TimeSpan.FromHours(1))));

        Assert.Equal((401, ReasonCodes.TxnTokenLifetimeExceeded), (decision.StatusCode, decision.Reasons[0]));
    }

    [Fact]
    public async Task Txn_and_iat_are_required()
    {
        var noTxn = TxnClaims();
        noTxn.Remove("txn");
        var noIat = TxnClaims();
        noIat.Remove("iat");

        var a = await Decide("/payments/charge", Txn(noTxn));
        var b = await Decide("/payments/charge", Txn(noIat));

        Assert.Equal((401, ReasonCodes.TxnTokenClaimMissing + ":txn"), (a.StatusCode, a.Reasons[0]));
        Assert.Equal((401, ReasonCodes.TxnTokenClaimMissing + ":iat"), (b.StatusCode, b.Reasons[0]));
    }

    [Fact]
    public async Task Repeated_header_and_missing_token_are_refused()
    {
        var txn = Txn(TxnClaims());

        var repeated = await Decide("/payments/charge", txn + "," + txn);
        var none = await Decide("/payments/charge");

        Assert.Equal((401, ReasonCodes.TxnTokenHeaderInvalid), (repeated.StatusCode, repeated.Reasons[0]));
        Assert.Equal((401, ReasonCodes.TokenMissing), (none.StatusCode, none.Reasons[0]));
    }

    [Fact]
    public async Task Both_tokens_the_txn_subject_is_the_principal_and_the_access_token_must_be_valid()
    {
        var txn = Txn(TxnClaims());

        var both = await Decide("/mixed/1", txnToken: txn, bearer: ReviewEngine.Corp());
        var badAccess = await Decide("/mixed/1", txnToken: txn, bearer: ReviewEngine.Other());
        var accessOnly = await Decide("/mixed/1", bearer: ReviewEngine.Corp());

        Assert.True(both.Allowed, string.Join(",", both.Reasons));
        Assert.Equal("user-42", both.Principal!.Subject);
        Assert.Equal("txn-7f3a", both.Transaction!.Id);
        Assert.Equal((401, ReasonCodes.TokenIssuerUnknown), (badAccess.StatusCode, badAccess.Reasons[0]));
        Assert.Equal("txn-7f3a", badAccess.Transaction!.Id);
        Assert.True(accessOnly.Allowed);
        Assert.Equal("alice", accessOnly.Principal!.Subject);
        Assert.Null(accessOnly.Transaction);
    }

    [Fact]
    public async Task A_txn_token_does_not_stand_in_for_a_dpop_bound_access_token()
    {
        var decision = await Decide("/dpop/1", Txn(TxnClaims()));

        Assert.Equal((401, ReasonCodes.TokenMissing), (decision.StatusCode, decision.Reasons[0]));
    }

    [Fact]
    public async Task Route_without_txn_issuers_ignores_the_header()
    {
        var decision = await Decide("/orders/1", txnToken: "not-even-a-jwt", bearer: ReviewEngine.Corp());

        Assert.True(decision.Allowed, string.Join(",", decision.Reasons));
        Assert.Null(decision.Transaction);
    }

    [Fact]
    public async Task Audit_record_carries_txn_req_wl_and_the_starting_route()
    {
        var request = ReviewEngine.Request("/payments/charge", method: "POST", headers: new Dictionary<string, string> { ["txn-token"] = Txn(TxnClaims()) },
            peer: "spiffe://shop.example/ns/shop/sa/orders");
        var decision = await _engine.DecideAsync(request);

        var json = JsonNode.Parse(AuditRecord.Create(decision, request, TimeSpan.Zero, DateTimeOffset.UtcNow, includeQuery: false).ToJson())!;

        Assert.Equal("txn-7f3a", (string?)json["txn"]);
        Assert.Null(json["txn_unverified"]);
        Assert.Equal("checkout", (string?)json["txn_route"]);
        Assert.Equal(2, json["req_wl"]!.AsArray().Count);
        Assert.Equal("user-42", (string?)json["subject"]);
        Assert.DoesNotContain(request.GetHeader("txn-token")!, json.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Decision_cache_key_differs_by_txn_token()
    {
        var a = ReviewEngine.Request("/payments/charge", headers: new Dictionary<string, string> { ["txn-token"] = Txn(TxnClaims(txn: "a")) });
        var b = ReviewEngine.Request("/payments/charge", headers: new Dictionary<string, string> { ["txn-token"] = Txn(TxnClaims(txn: "b")) });

        Assert.True(DecisionCacheKey.TryCreate(a, out var keyA));
        Assert.True(DecisionCacheKey.TryCreate(b, out var keyB));
        Assert.NotEqual(keyA.Material, keyB.Material);
    }
}
