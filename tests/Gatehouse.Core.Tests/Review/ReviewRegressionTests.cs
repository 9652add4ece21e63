using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tests.Tokens;

namespace Gatehouse.Tests.Review;

/// <summary>
/// Security review: attacks that were tried and refused as they should be. They pass and stay as regression tests.
/// </summary>
public sealed class ReviewRegressionTests : IAsyncLifetime
{
    private const string Routes = """
          - name: both
            match: { path_prefix: /both }
            upstream: http://127.0.0.1:9
            authentication: { issuers: [corp, other], require_token: true }
          - name: corp-only
            match: { path_prefix: /orders }
            upstream: http://127.0.0.1:9
            authentication: { issuers: [corp], require_token: true }
          - name: public
            match: { path_prefix: /public }
            upstream: http://127.0.0.1:9
            authentication: { issuers: [corp], require_token: false }
          - name: scoped
            match: { path_prefix: /scoped }
            upstream: http://127.0.0.1:9
            authentication: { issuers: [corp], require_token: true }
            policies: [need-write]
          - name: mesh
            match: { path_prefix: /mesh }
            upstream: http://127.0.0.1:9
            authentication: { require_token: false }
            policies: [shop-only]
          - name: audited
            match: { path_prefix: /audited }
            upstream: http://127.0.0.1:9
            authentication: { issuers: [corp], require_token: true }
            policies: [need-write, audit-all, dry-deny, dry-allow]
          - name: blocked
            match: { path_prefix: /blocked }
            upstream: http://127.0.0.1:9
            authentication: { require_token: false }
            policies: [deny-unknown-peers]
        """;

    private const string Policies = """
          need-write:
            action: allow
            rules:
              - when: { scopes: [orders.write] }
          shop-only:
            action: allow
            rules:
              - from: { principals: ["spiffe://cluster.local/ns/shop/*"] }
          audit-all:
            action: audit
            rules:
              - {}
          dry-deny:
            action: deny
            dry_run: true
            rules:
              - {}
          dry-allow:
            action: allow
            dry_run: true
            rules:
              - {}
          deny-unknown-peers:
            action: deny
            rules:
              - from: { not_principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] }
        """;

    private ReviewEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await ReviewEngine.CreateAsync(Routes, Policies);

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private ValueTask<Decision> Decide(string path, string? token = null, string? peer = null) =>
        _engine.DecideAsync(ReviewEngine.Request(path, token: token, peer: peer));

    [Fact]
    public async Task Issuer_TokenOfOtherIssuer_RefusedOnRouteThatListsOnlyCorp_EvenAfterVerifiedCacheHit()
    {
        var token = ReviewEngine.Other();
        Assert.True((await Decide("/both/x", token)).Allowed); // now in the verified-token cache

        var decision = await Decide("/orders/x", token);
        Assert.Equal(401, decision.StatusCode);
        Assert.Equal(ReasonCodes.TokenIssuerUnknown, decision.Reasons[0]);
    }

    [Fact]
    public async Task Issuer_CorpIssSignedWithOtherKey_Refused()
    {
        var token = TestTokens.Sign(ReviewEngine.OtherKey, ReviewEngine.Claims());
        var decision = await Decide("/both/x", token);
        Assert.Equal(401, decision.StatusCode);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("123")]
    [InlineData("null")]
    [InlineData("\"\"")]
    [InlineData("[\"ORDERS\"]")]
    [InlineData("[[\"orders\"]]")]
    [InlineData("{\"0\":\"orders\"}")]
    public async Task Audience_OddShapes_Refused(string aud)
    {
        var claims = ReviewEngine.Claims();
        claims["aud"] = JsonNode.Parse(aud);
        var decision = await Decide("/orders/x", ReviewEngine.Corp(claims));
        Assert.Equal(401, decision.StatusCode);
    }

    [Fact]
    public async Task Audience_Missing_Refused_ForGenericProfile()
    {
        var claims = ReviewEngine.Claims();
        claims.Remove("aud");
        claims["client_id"] = "orders";
        Assert.Equal(401, (await Decide("/orders/x", ReviewEngine.Corp(claims))).StatusCode);
    }

    [Fact]
    public async Task Audience_ArrayContainingAccepted_Allowed()
    {
        var claims = ReviewEngine.Claims();
        claims["aud"] = new JsonArray("billing", "orders");
        Assert.True((await Decide("/orders/x", ReviewEngine.Corp(claims))).Allowed);
    }

    [Theory]
    [InlineData("exp", "\"9999999999\"")]
    [InlineData("exp", "-1")]
    [InlineData("exp", "-1e300")]
    [InlineData("exp", "0")]
    [InlineData("exp", "true")]
    [InlineData("exp", "null")]
    [InlineData("nbf", "1e300")]
    [InlineData("nbf", "\"0\"")]
    [InlineData("iat", "1e300")]
    [InlineData("iat", "[1]")]
    public async Task Lifetime_OddValues_Refused(string claim, string json)
    {
        var claims = ReviewEngine.Claims();
        claims[claim] = JsonNode.Parse(json);
        var decision = await Decide("/orders/x", ReviewEngine.Corp(claims));
        Assert.Equal(401, decision.StatusCode);
    }

    [Fact]
    public async Task Lifetime_MissingExp_Refused()
    {
        var claims = ReviewEngine.Claims();
        claims.Remove("exp");
        Assert.Equal(401, (await Decide("/orders/x", ReviewEngine.Corp(claims))).StatusCode);
    }

    [Fact]
    public async Task Lifetime_ExpiredJustBeyondSkew_RefusedEvenIfCachedBefore()
    {
        var claims = ReviewEngine.Claims();
        claims["exp"] = DateTimeOffset.UtcNow.AddSeconds(-31).ToUnixTimeSeconds(); // default skew is 30 s
        Assert.Equal(401, (await Decide("/orders/x", ReviewEngine.Corp(claims))).StatusCode);
    }

    [Fact]
    public async Task Algorithm_HmacWithoutSecret_And_Unknown_Kid_Refused()
    {
        var claims = ReviewEngine.Claims();
        var hs = TestTokens.SignHmac(new byte[32], """{"alg":"HS256","kid":"corp-1","typ":"at+jwt"}""", claims.ToJsonString());
        Assert.Equal(401, (await Decide("/orders/x", hs)).StatusCode);

        var unknownKid = TestTokens.Sign(ReviewEngine.CorpKey, claims, header: h => h["kid"] = "nope");
        Assert.Equal(401, (await Decide("/orders/x", unknownKid)).StatusCode);

        var none = TestKey.B64("""{"alg":"none"}""") + "." + TestKey.B64(claims.ToJsonString()) + ".";
        Assert.Equal(401, (await Decide("/orders/x", none)).StatusCode);
    }

    [Fact]
    public async Task PublicRoute_InvalidToken_IsRefused_NotAnonymous()
    {
        var token = TestTokens.Sign(ReviewEngine.OtherKey, ReviewEngine.Claims());
        var decision = await Decide("/public/x", token);
        Assert.Equal(401, decision.StatusCode);
        Assert.Contains("invalid_token", decision.Challenge);
        Assert.True((await Decide("/public/x")).Allowed);
    }

    [Fact]
    public async Task Status_MissingToken_401WithoutErrorCode_PolicyRefusal_403InsufficientScope()
    {
        var missing = await Decide("/scoped/x");
        Assert.Equal(401, missing.StatusCode);
        Assert.Equal("Bearer realm=\"gatehouse\"", missing.Challenge);

        var refused = await Decide("/scoped/x", ReviewEngine.Corp());
        Assert.Equal(403, refused.StatusCode);
        Assert.Contains("error=\"insufficient_scope\"", refused.Challenge);
        Assert.Contains("scope=\"orders.write\"", refused.Challenge);
    }

    [Theory]
    [InlineData("orders.read\torders.write")]
    [InlineData("orders.read,orders.write")]
    [InlineData("ORDERS.WRITE")]
    [InlineData("orders.write.extra")]
    public async Task Scope_OddSeparatorsAndCase_DoNotGrantScope(string scope)
    {
        var decision = await Decide("/scoped/x", ReviewEngine.Corp(ReviewEngine.Claims(scope)));
        Assert.Equal(403, decision.StatusCode);
    }

    [Fact]
    public async Task Scope_MultipleSpacesAndArrayForm_Grant()
    {
        Assert.True((await Decide("/scoped/x", ReviewEngine.Corp(ReviewEngine.Claims("  orders.read   orders.write  ")))).Allowed);
        var claims = ReviewEngine.Claims();
        claims["scope"] = new JsonArray("orders.read", "orders.write");
        Assert.True((await Decide("/scoped/x", ReviewEngine.Corp(claims))).Allowed);
    }

    [Theory]
    [InlineData("spiffe://cluster.local/ns/shop-evil/sa/checkout", false)]
    [InlineData("spiffe://cluster.local/ns/shopx/sa/a", false)]
    [InlineData("spiffe://cluster.local/ns/SHOP/sa/a", false)]
    [InlineData("spiffe://cluster.local/ns/shop", false)]
    [InlineData(null, false)]
    [InlineData("spiffe://cluster.local/ns/shop/sa/checkout", true)]
    public async Task Principal_WildcardIsSegmentPrefix(string? peer, bool allowed)
    {
        Assert.Equal(allowed, (await Decide("/mesh/x", peer: peer)).Allowed);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("spiffe://cluster.local/ns/shop/sa/other", false)]
    [InlineData("spiffe://cluster.local/ns/shop/sa/checkout", true)]
    public async Task NotPrincipals_InDeny_DeniesAnonymousPeers(string? peer, bool allowed)
    {
        Assert.Equal(allowed, (await Decide("/blocked/x", peer: peer)).Allowed);
    }

    [Fact]
    public async Task AuditAndDryRun_NeverTurnADenyIntoAnAllow_NorAllowIntoDeny()
    {
        var denied = await Decide("/audited/x", ReviewEngine.Corp());
        Assert.False(denied.Allowed);
        Assert.Equal(403, denied.StatusCode);

        var allowed = await Decide("/audited/x", ReviewEngine.Corp(ReviewEngine.Claims("orders.write")));
        Assert.True(allowed.Allowed);
        Assert.Contains(allowed.Recorded, r => r.StartsWith(ReasonCodes.PolicyDryRunDeny, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TokenOfUnconfiguredIssuer_OnPublicRoute_IsRefused()
    {
        await using var engine = await ReviewEngine.CreateAsync("""
              - name: open
                match: { path_prefix: /open }
                upstream: http://127.0.0.1:9
                authentication: { issuers: [corp], require_token: false }
            """);
        var garbage = TestTokens.Sign(TestKey.Ec("stray"), ReviewEngine.Claims(iss: "https://stray.test/"));
        var decision = await engine.DecideAsync(ReviewEngine.Request("/open/x", token: garbage));
        Assert.Equal(401, decision.StatusCode);
    }

    [Theory]
    [InlineData("Bearer a,Bearer b")]
    [InlineData("Bearer")]
    [InlineData("Bearer a b")]
    [InlineData("Bearer a\"b")]
    public async Task AuthorizationHeader_Malformed_IsRefusedOnPublicRoute(string value)
    {
        var request = ReviewEngine.Request("/public/x", headers: new Dictionary<string, string> { ["authorization"] = value });
        var decision = await _engine.DecideAsync(request);
        Assert.Equal(401, decision.StatusCode);
    }

    [Fact]
    public async Task Introspection_ActiveAsString_IsNotAnAllow()
    {
        await using var server = new LoopbackServer(_ => LoopbackResponse.Json("""{"active":"true","sub":"svc","aud":"orders"}"""));
        await using var engine = await ReviewEngine.CreateAsync(
            routes: """
                  - name: orders
                    match: { path_prefix: /orders }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [as], require_token: true }
                """,
            issuersExtra: $$"""
                  as:
                    issuer: https://as.test/
                    audiences: [orders]
                    introspection: { endpoint: {{server.Url("/introspect")}}, client_id: gh }
                """);
        Assert.False((await engine.DecideAsync(ReviewEngine.Request(token: "opaque-1"))).Allowed);
    }

    [Theory]
    [InlineData("""{"active":true,"sub":"svc","aud":"billing"}""", 401)]
    [InlineData("""{"active":true,"sub":"svc","iss":"https://evil.test/"}""", 401)]
    [InlineData("""{"active":true,"sub":"svc","exp":1000}""", 401)]
    [InlineData("""{"active":false}""", 401)]
    public async Task Introspection_EdgeAnswers_Refused(string body, int status)
    {
        await using var server = new LoopbackServer(_ => LoopbackResponse.Json(body));
        await using var engine = await ReviewEngine.CreateAsync(
            routes: """
                  - name: orders
                    match: { path_prefix: /orders }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [as], require_token: true }
                """,
            issuersExtra: $$"""
                  as:
                    issuer: https://as.test/
                    audiences: [orders]
                    introspection: { endpoint: {{server.Url("/introspect")}}, client_id: gh }
                """);
        Assert.Equal(status, (await engine.DecideAsync(ReviewEngine.Request(token: "opaque-2"))).StatusCode);
    }

    [Fact]
    public async Task IntrospectionOnlyIssuer_DoesNotVouchForAJwtOfAnotherIssuer()
    {
        // Route lists [as (introspection-only), corp]; a JWT with iss=other (not listed) must not be introspected by
        // "as" and accepted: the issuer is chosen by iss only.
        await using var server = new LoopbackServer(_ => LoopbackResponse.Json("""{"active":true,"sub":"svc","aud":"orders"}"""));
        await using var engine = await ReviewEngine.CreateAsync(
            routes: """
                  - name: orders
                    match: { path_prefix: /orders }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [as, corp], require_token: true }
                """,
            issuersExtra: $$"""
                  as:
                    issuer: https://as.test/
                    audiences: [orders]
                    introspection: { endpoint: {{server.Url("/introspect")}}, client_id: gh }
                """);
        var decision = await engine.DecideAsync(ReviewEngine.Request(token: ReviewEngine.Other()));
        Assert.Equal(401, decision.StatusCode);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Cidr_IPv4Block_MatchesIPv4MappedSource_AndHostBitsAreMasked()
    {
        await using var engine = await ReviewEngine.CreateAsync(
            routes: """
                  - name: any
                    match: { path_prefix: / }
                    upstream: http://127.0.0.1:9
                    authentication: { require_token: false }
                """,
            policies: """
                  no-ten:
                    action: deny
                    global: true
                    rules:
                      - from: { ip_blocks: ["10.9.9.9/8"] }
                """);
        Assert.False((await engine.DecideAsync(ReviewEngine.Request("/x", source: IPAddress.Parse("::ffff:10.1.2.3")))).Allowed);
        Assert.False((await engine.DecideAsync(ReviewEngine.Request("/x", source: IPAddress.Parse("10.200.0.1")))).Allowed);
        Assert.True((await engine.DecideAsync(ReviewEngine.Request("/x", source: IPAddress.Parse("11.0.0.1")))).Allowed);
    }
}
