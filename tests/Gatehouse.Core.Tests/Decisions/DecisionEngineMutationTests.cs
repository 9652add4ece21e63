using System.Text.Json.Nodes;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tests.Review;
using Gatehouse.Tests.Tokens;

namespace Gatehouse.Tests.Decisions;

/// <summary>
/// Decision-engine steps that survived mutation testing (docs/security.md, "Mutation testing", the decisions-engine
/// set) because only the proxy's HTTP tests reached them: certificate binding (RFC 8705 §3) required by the route or
/// by the issuer, the route's required scopes, 401 or 403 and which challenge, how long a
/// decision may be cached with two tokens, and the DPoP header kept from the upstream.
/// </summary>
public sealed class DecisionEngineMutationTests : IAsyncLifetime
{
    private const string TxnIssuer = "https://txn.shop.example";
    private const string StrictIssuer = "https://strict.idp.test/";
    private static readonly Lazy<TestKey> s_txnKey = new(() => TestKey.Ec("txn-1"));
    private ReviewEngine _engine = null!;
    private string _dir = null!;

    public async Task InitializeAsync()
    {
        _dir = Gatehouse.Testing.TestTemp.CreateDirectory("engine-mutation-");
        var txnJwks = Path.Combine(_dir, "txn.json");
        var strictJwks = Path.Combine(_dir, "strict.json");
        await File.WriteAllTextAsync(txnJwks, TestKey.Jwks(s_txnKey.Value));
        await File.WriteAllTextAsync(strictJwks, TestKey.Jwks(ReviewEngine.CorpKey));
        _engine = await ReviewEngine.CreateAsync(
            issuersExtra: $$"""
                  txn:
                    kind: txn_token
                    issuer: {{TxnIssuer}}
                    jwks_file: {{txnJwks}}
                    audiences: [shop.example]
                    algorithms: [ES256]
                    max_lifetime: 5m
                  strict:
                    issuer: {{StrictIssuer}}
                    jwks_file: {{strictJwks}}
                    audiences: [orders]
                    algorithms: [RS256]
                    require_bound_tokens: true
                """,
            routes: """
                  - name: bound-route
                    match: { path_prefix: /bound }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp], require_bound_tokens: true }
                  - name: strict-issuer
                    match: { path_prefix: /strict }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [strict] }
                  - name: scoped
                    match: { path_prefix: /scoped }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp], required_scopes: [orders.write] }
                  - name: optional-token
                    match: { path_prefix: /optional }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp], require_token: false }
                    policies: [admins]
                  - name: writes
                    match: { path_prefix: /writes }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp] }
                    policies: [writers]
                  - name: mixed
                    match: { path_prefix: /mixed }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp, txn] }
                  - name: plain
                    match: { path_prefix: / }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp] }
                """,
            policies: """
                  admins:
                    action: allow
                    rules:
                      - when: { roles: [admin] }
                  writers:
                    action: allow
                    rules:
                      - when: { scopes: [orders.write] }
                """);
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private const string Thumbprint = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2";

    private static string BoundToken(string thumbprint = Thumbprint, string iss = TestTokens.Issuer)
    {
        var claims = ReviewEngine.Claims(iss: iss);
        claims["cnf"] = new JsonObject { ["x5t#S256"] = thumbprint };
        return ReviewEngine.Corp(claims);
    }

    private Task<Decision> Decide(string path, string? token, string? peerThumbprint = null, Dictionary<string, string>? headers = null) =>
        _engine.DecideAsync(ReviewEngine.Request(path, token: token, headers: headers, peerThumbprint: peerThumbprint)).AsTask();

    [Fact]
    public async Task ACertificateBoundToken_IsValidOnlyOverThatCertificate()
    {
        var token = BoundToken();

        var noCertificate = await Decide("/plain", token);
        var otherCertificate = await Decide("/plain", token, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        var itsCertificate = await Decide("/plain", token, Thumbprint);

        Assert.Equal((401, ReasonCodes.TokenBindingMismatch), (noCertificate.StatusCode, noCertificate.Reasons[0]));
        Assert.Contains("invalid_token", noCertificate.Challenge, StringComparison.Ordinal);
        Assert.Equal((401, ReasonCodes.TokenBindingMismatch), (otherCertificate.StatusCode, otherCertificate.Reasons[0]));
        Assert.True(itsCertificate.Allowed, string.Join(",", itsCertificate.Reasons));
    }

    [Theory]
    [InlineData("/bound/x", TestTokens.Issuer)]
    [InlineData("/strict/x", StrictIssuer)]
    public async Task BindingRequired_ByTheRouteOrByTheIssuer_RefusesAnUnboundToken(string path, string iss)
    {
        var unbound = await Decide(path, ReviewEngine.Corp(ReviewEngine.Claims(iss: iss)), Thumbprint);
        var bound = await Decide(path, BoundToken(iss: iss), Thumbprint);

        Assert.Equal((401, ReasonCodes.TokenBindingRequired), (unbound.StatusCode, unbound.Reasons[0]));
        Assert.True(bound.Allowed, string.Join(",", bound.Reasons));
    }

    [Fact]
    public async Task TheRoutesRequiredScopes_RefuseATokenWithoutThem_WithAnInsufficientScopeChallenge()
    {
        var read = await Decide("/scoped/x", ReviewEngine.Corp(ReviewEngine.Claims(scope: "orders.read")));
        var write = await Decide("/scoped/x", ReviewEngine.Corp(ReviewEngine.Claims(scope: "orders.read orders.write")));

        Assert.Equal(403, read.StatusCode);
        Assert.Equal(ReasonCodes.ScopeMissing + ":orders.write", read.Reasons[0]);
        Assert.Contains("error=\"insufficient_scope\"", read.Challenge, StringComparison.Ordinal);
        Assert.Contains("scope=\"orders.write\"", read.Challenge, StringComparison.Ordinal);
        Assert.True(write.Allowed);
    }

    [Fact]
    public async Task APolicyRefusal_Is401WithABareChallenge_OnlyWhenNoTokenWasOffered_OnARouteThatTakesTokens()
    {
        var anonymous = await Decide("/optional/x", token: null);
        var withToken = await Decide("/optional/x", ReviewEngine.Corp());

        Assert.Equal(401, anonymous.StatusCode);
        Assert.Equal(Challenges.Missing, anonymous.Challenge);
        Assert.Equal(403, withToken.StatusCode);
        Assert.Null(withToken.Challenge);
    }

    [Fact]
    public async Task AScopeConditionInAPolicy_Gives403WithTheScopeInTheChallenge()
    {
        var decision = await Decide("/writes/x", ReviewEngine.Corp(ReviewEngine.Claims(scope: "orders.read")));

        Assert.Equal(403, decision.StatusCode);
        Assert.StartsWith(ReasonCodes.ScopeMissing + ":", decision.Reasons[0], StringComparison.Ordinal);
        Assert.Contains("error=\"insufficient_scope\"", decision.Challenge, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(60, 120)]
    [InlineData(120, 60)]
    public async Task WithAnAccessTokenAndATxnToken_TheDecisionIsValidUntilTheEarlierExpiry(int accessSeconds, int txnSeconds)
    {
        var now = DateTimeOffset.UtcNow;
        var access = ReviewEngine.Claims();
        access["exp"] = now.AddSeconds(accessSeconds).ToUnixTimeSeconds();
        var txn = new JsonObject
        {
            ["iss"] = TxnIssuer,
            ["aud"] = "shop.example",
            ["sub"] = "user-42",
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddSeconds(txnSeconds).ToUnixTimeSeconds(),
            ["txn"] = "txn-1",
            ["scope"] = "orders.read",
        };
        var headers = new Dictionary<string, string> { ["txn-token"] = TestTokens.Sign(s_txnKey.Value, txn, header: h => h["typ"] = "txntoken+jwt") };

        var decision = await Decide("/mixed/x", ReviewEngine.Corp(access), headers: headers);

        Assert.True(decision.Allowed, string.Join(",", decision.Reasons));
        Assert.Equal(now.AddSeconds(Math.Min(accessSeconds, txnSeconds)).ToUnixTimeSeconds(), decision.ValidUntil?.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task ADpopHeaderBesideABearerToken_IsNotForwarded()
    {
        var withProof = await Decide("/plain/x", ReviewEngine.Corp(), headers: new Dictionary<string, string> { ["dpop"] = "eyJ.proof.x" });
        var without = await Decide("/plain/x", ReviewEngine.Corp());

        Assert.Contains("dpop", withProof.RemoveHeaders);
        Assert.DoesNotContain("dpop", without.RemoveHeaders);
    }
}
