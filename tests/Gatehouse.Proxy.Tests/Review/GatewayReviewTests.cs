using System.Net;
using Gatehouse.Tests.Contract;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Review;

/// <summary>
/// Security review of the gateway on real Kestrel + YARP, kept as regression tests named after the behaviour they
/// hold: the first three failed on the reviewed revision, the others are attacks that were refused already.
/// </summary>
public sealed class GatewayReviewTests : IAsyncLifetime
{
    private static string Routes(string upstream) => $$"""
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true }
            claim_headers: { x-auth-subject: sub, x-auth-scopes: scope }
          - name: orders-public
            match: { path_prefix: /orders/catalog }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
          - name: public-fwd
            match: { path_prefix: /pubfwd }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false, forward_authorization: true }
          - name: admin
            match: { hosts: [admin.example.com], path_prefix: / }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
          - name: catchall
            match: { path_prefix: /anything }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
        """;

    private const string Policies = """
          no-admin-host:
            action: deny
            global: true
            rules:
              - to: { hosts: [admin.example.com] }
        """;

    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() =>
        _gateway = await GatewayHarness.StartAsync((u, j) => GatewayHarness.DefaultConfig(u, j, Routes(u), Policies));

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private ReceivedRequest? LastUpstream() => _gateway.Upstream.Received.LastOrDefault();

    // ---- high: claim headers are stripped only on routes that set them ----

    [Fact]
    public async Task Gateway_ClaimHeaders_CannotBeSpoofedThroughASiblingRouteOfTheSameUpstream()
    {
        // /orders sets x-auth-subject from the token, so its upstream trusts it. /orders/catalog (public, same
        // upstream) does not list claim_headers, so RemoveHeaders does not contain x-auth-subject and the caller's
        // own value reaches the upstream.
        using var response = await _gateway.GetAsync("/orders/catalog/items", configure: r =>
        {
            r.Headers.TryAddWithoutValidation("X-Auth-Subject", "admin");
            r.Headers.TryAddWithoutValidation("x-auth-scopes", "orders.admin");
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = LastUpstream()!;
        Assert.False(seen.Headers.ContainsKey("x-auth-subject"), $"spoofed x-auth-subject reached the upstream: {seen.Headers.GetValueOrDefault("x-auth-subject")}");
        Assert.False(seen.Headers.ContainsKey("x-auth-scopes"));
    }

    // ---- medium: a bearer token hidden behind another scheme is forwarded unvalidated ----

    [Fact]
    public async Task Gateway_PublicRoute_NeverForwardsAnUnvalidatedBearerBehindAnotherScheme()
    {
        // BearerCredential reads only the first scheme of the comma-joined Authorization values: "Basic …, Bearer X"
        // is "Absent", the public route allows anonymously, and forward_authorization passes "Bearer X" — never
        // validated — to an upstream that trusts Gatehouse to have checked it.
        var forged = TestIssuerKeys.Unsigned(_gateway.Keys.ValidPayloadJson("orders.admin"));
        using var response = await _gateway.GetAsync("/pubfwd/x", configure: r =>
        {
            r.Headers.TryAddWithoutValidation("Authorization", "Basic Zm9vOmJhcg==");
            r.Headers.TryAddWithoutValidation("Authorization", "Bearer " + forged);
        });
        var seen = LastUpstream();
        var leaked = response.StatusCode == HttpStatusCode.OK && seen is not null
            && seen.Headers.TryGetValue("authorization", out var auth) && auth.Contains(forged, StringComparison.Ordinal);
        Assert.False(leaked, "an unvalidated bearer token was forwarded upstream on an anonymous allow");
    }

    // ---- critical (end to end): trailing-dot Host reaches the route but escapes to.hosts ----

    [Fact]
    public async Task Gateway_DenyOnHost_AppliesToTheHostWrittenWithATrailingDot()
    {
        var control = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, "GET", "/users", host: "admin.example.com");
        Assert.Equal(401, control.Status); // anonymous + policy refusal → 401 (DecisionEngine)

        var dotted = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, "GET", "/users", host: "admin.example.com.");
        Assert.True(dotted.Status != 200, $"admin.example.com. was forwarded: {dotted}");
    }

    // ---- regressions ----

    [Fact]
    public async Task ClaimHeaders_SpoofedInAnyCaseOrDuplicated_AreReplacedOnTheirRoute()
    {
        var token = _gateway.Keys.Mint();
        using var response = await _gateway.GetAsync("/orders/1", token, r =>
        {
            r.Headers.TryAddWithoutValidation("X-AUTH-SUBJECT", "admin");
            r.Headers.TryAddWithoutValidation("x-auth-subject", "root");
            r.Headers.TryAddWithoutValidation("X-Forwarded-For", "127.0.0.1");
            r.Headers.TryAddWithoutValidation("Forwarded", "for=127.0.0.1");
            r.Headers.TryAddWithoutValidation("X-Forwarded-Client-Cert", "URI=spiffe://cluster.local/ns/shop/sa/admin");
            r.Headers.TryAddWithoutValidation("x-gatehouse-reason", "policy.allow_matched");
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = LastUpstream()!;
        Assert.Equal("checkout", seen.Headers["x-auth-subject"]);
        Assert.Equal("127.0.0.1", seen.Headers["x-forwarded-for"]); // the real loopback peer, one value
        Assert.False(seen.Headers.ContainsKey("forwarded"));
        Assert.False(seen.Headers.ContainsKey("x-forwarded-client-cert"));
        Assert.False(seen.Headers.ContainsKey("x-gatehouse-reason"));
        Assert.False(seen.Headers.ContainsKey("authorization"));
    }

    [Fact]
    public async Task ClaimHeader_AbsentClaim_SpoofedValueStillRemoved()
    {
        var token = _gateway.Keys.Mint(overrides: new Dictionary<string, object?> { ["sub"] = null });
        using var response = await _gateway.GetAsync("/orders/1", token, r => r.Headers.TryAddWithoutValidation("x-auth-subject", "admin"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(LastUpstream()!.Headers.ContainsKey("x-auth-subject"));
    }

    [Theory]
    [InlineData("http://other.example.com/orders/1")]
    [InlineData("http://api.example.com/anything/../orders/1")]
    public async Task AbsoluteFormTarget_NeverReachesProtectedRouteWithoutToken(string target)
    {
        var count = _gateway.Upstream.Received.Count;
        var response = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, "GET", target, host: "api.example.com");
        Assert.NotEqual(200, response.Status);
        Assert.Equal(count, _gateway.Upstream.Received.Count);
    }

    [Theory]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    [InlineData("DELETE")]
    [InlineData("get")]
    public async Task OtherMethods_OnProtectedRoute_Need_A_Token(string method)
    {
        var response = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, method, "/orders/1");
        Assert.Equal(401, response.Status);
    }

    [Fact]
    public async Task Denied_RequestWithBody_DoesNotReachUpstream()
    {
        var count = _gateway.Upstream.Received.Count;
        var response = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, "POST", "/orders/1", body: new string('x', 2048));
        Assert.Equal(401, response.Status);
        Assert.Equal(count, _gateway.Upstream.Received.Count);
    }

    [Theory]
    [InlineData("ADMIN.EXAMPLE.COM")]
    [InlineData("admin.example.com:8443")]
    [InlineData("Admin.Example.Com:80")]
    public async Task HostVariants_StillHitTheHostDeny(string host)
    {
        var response = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, "GET", "/users", host: host);
        Assert.Equal(401, response.Status); // denied (anonymous caller: 401, see DecisionEngine)
        Assert.Contains("policy.deny_matched", response.Header("x-gatehouse-reason") ?? response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PathForwarded_IsThePathDecided()
    {
        var response = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, "GET", "/orders/catalog/../1");
        Assert.Equal(401, response.Status); // normalized to /orders/1: the protected route decides, not the public one

        var ok = await RawHttp.SendAsync(_gateway.Client.BaseAddress!, "GET", "/orders/catalog/./a//b?x=1");
        Assert.Equal(200, ok.Status);
        Assert.StartsWith("/orders/catalog/a", LastUpstream()!.RawTarget, StringComparison.Ordinal);
    }
}
