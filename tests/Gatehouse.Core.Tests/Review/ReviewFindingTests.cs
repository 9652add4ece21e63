using System.Net;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Cache;
using Gatehouse.Identity;
using Gatehouse.Model;
using Gatehouse.Policy;
using Gatehouse.Tests.Tokens;

namespace Gatehouse.Tests.Review;

/// <summary>
/// Regression tests for the findings of a security review: each is named after the fail-closed behaviour it
/// holds, and failed on the revision that was reviewed (the comments say what went wrong then).
/// </summary>
public sealed class ReviewFindingTests
{
    // ---- critical: CUSTOM policies are accepted by config and silently not enforced ----

    [Fact]
    public void Policy_CustomAction_IsACheckError_AndEnforcedAsDeny()
    {
        // An operator binds a CUSTOM policy (Istio: delegate to an external authorizer). Gatehouse calls no external
        // authorizer, so such a policy would enforce nothing: `check` must refuse it, and the engine, should one
        // reach it anyway, must enforce it as a deny.
        var load = ReviewEngine.Check("""
            version: 1
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
            routes:
              - { name: billing, match: { path_prefix: /billing }, upstream: "http://127.0.0.1:9", authentication: { require_token: false }, policies: [billing-ext] }
            policies:
              billing-ext:
                action: custom
                rules:
                  - to: { paths: ["/billing/*"] }
            """);
        Assert.False(load.IsValid);
        Assert.Contains(load.Errors, e => e.Path == "policies.billing-ext.action");

        var compiled = Gatehouse.Policy.CompiledPolicySet.Compile([new PolicyConfig
        {
            Name = "billing-ext",
            Action = PolicyAction.Custom,
            Rules = [new PolicyRuleConfig { To = new ToConfig { Paths = ["/billing/*"] } }],
        }]);
        Assert.False(compiled.Evaluate(new PolicyInput(ReviewEngine.Request("/billing/invoices"), "/billing/invoices", Principal.Anonymous)).Allowed);
    }

    // ---- critical: host normalization differs between routing and to.hosts ----

    [Fact]
    public async Task Policy_DenyOnHosts_MatchesTheHostWrittenWithATrailingDot()
    {
        // The route table trims a trailing dot from the host (RouteTable.Match) but to.hosts compares the untrimmed
        // request host, so "admin.example.com." reaches the admin route while the DENY on that host does not match.
        await using var engine = await ReviewEngine.CreateAsync(
            routes: """
                  - name: admin
                    match: { hosts: [admin.example.com], path_prefix: / }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp], require_token: false }
                """,
            policies: """
                  no-admin-host:
                    action: deny
                    global: true
                    rules:
                      - to: { hosts: [admin.example.com] }
                """);

        var control = await engine.DecideAsync(ReviewEngine.Request("/users", host: "admin.example.com"));
        Assert.False(control.Allowed);

        var dotted = await engine.DecideAsync(ReviewEngine.Request("/users", host: "admin.example.com."));
        Assert.Equal("admin", dotted.RouteName);
        Assert.False(dotted.Allowed, $"trailing-dot host bypassed the DENY: {string.Join(",", dotted.Reasons)}");
    }

    [Fact]
    public async Task Policy_NotHostsInAllow_ExcludesTheHostWrittenWithATrailingDot()
    {
        // Same root cause with the ALLOW form: "not_hosts" must exclude admin.example.com, whatever its spelling.
        await using var engine = await ReviewEngine.CreateAsync(
            routes: """
                  - name: any
                    match: { path_prefix: / }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp], require_token: false }
                    policies: [not-admin]
                """,
            policies: """
                  not-admin:
                    action: allow
                    rules:
                      - to: { not_hosts: [admin.example.com] }
                """);

        Assert.False((await engine.DecideAsync(ReviewEngine.Request("/x", host: "admin.example.com"))).Allowed);
        Assert.False((await engine.DecideAsync(ReviewEngine.Request("/x", host: "admin.example.com."))).Allowed);
    }

    // ---- medium (latent): the ext_authz decision cache key omits request headers that policies can read ----

    [Fact]
    public void DecisionCache_IsOff_WhenPoliciesReadRequestHeaders()
    {
        // The engine supports `when.headers.<name>` (RuleCompiler.CompileWhen; documented in docs/policy.md and
        // emitted by the Istio importer for request.headers[X]), but DecisionCacheKey hashes only Authorization,
        // Cookie and the query. The config binder currently rejects headers.* (so this is latent); the day it is
        // accepted, a cached ALLOW answers a request whose header a DENY policy refuses.
        var policies = CompiledPolicySetFor(new PolicyConfig
        {
            Name = "no-cross-tenant",
            Action = PolicyAction.Deny,
            Rules = [new PolicyRuleConfig { When = [new WhenConditionConfig { Key = "headers.x-tenant", Values = ["other-tenant"] }] }],
        });
        var plain = ReviewEngine.Request(token: "t");
        var crossTenant = ReviewEngine.Request(token: "t", headers: new Dictionary<string, string> { ["x-tenant"] = "other-tenant" });

        var plainAllowed = policies.Evaluate(new PolicyInput(plain, "/orders/1", Principal.Anonymous)).Allowed;
        var crossAllowed = policies.Evaluate(new PolicyInput(crossTenant, "/orders/1", Principal.Anonymous)).Allowed;
        Assert.True(plainAllowed);
        Assert.False(crossAllowed);

        // The key covers credential, workload, method, host, path and query only, so these two share a key...
        Assert.True(DecisionCacheKey.TryCreate(plain, out var plainKey));
        Assert.True(DecisionCacheKey.TryCreate(crossTenant, out var crossKey));
        Assert.True(plainKey == crossKey);
        // ...and a snapshot whose policies read headers therefore turns the ext_authz decision cache off.
        var compilation = new Gatehouse.Runtime.SnapshotCompiler(new HttpClient(), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance)
            .Compile(new GatehouseConfig { Policies = new Dictionary<string, PolicyConfig> { ["no-cross-tenant"] = new PolicyConfig
            {
                Name = "no-cross-tenant",
                Action = PolicyAction.Deny,
                Rules = [new PolicyRuleConfig { When = [new WhenConditionConfig { Key = "headers.x-tenant", Values = ["other-tenant"] }] }],
            } } }, previous: null);
        Assert.True(compilation.Snapshot.PoliciesReadHeaders);
    }

    [Fact]
    public void Config_DocumentedWhenKeys_AreAccepted()
    {
        // docs/policy.md documents when.headers.<name> (and the engine implements client_id/subject/issuer too), but
        // `check` rejects them: configs written from the docs (or from the Istio importer) do not load.
        var yaml = """
            version: 1
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
            routes:
              - { name: r, match: { path_prefix: / }, upstream: "http://127.0.0.1:9", authentication: { require_token: false }, policies: [p] }
            policies:
              p:
                action: deny
                rules:
                  - when: { "headers.x-debug": ["1"] }
            """;
        var load = ReviewEngine.Check(yaml);
        Assert.True(load.IsValid, string.Join("; ", load.Errors));
    }

    private static Gatehouse.Policy.CompiledPolicySet CompiledPolicySetFor(params PolicyConfig[] policies) =>
        Gatehouse.Policy.CompiledPolicySet.Compile(policies);

    // ---- high: shorthand IPv4 CIDR is accepted and silently means another network ----

    [Fact]
    public void Config_ShorthandIPv4Cidr_IsRefused()
    {
        // IPAddress.TryParse("192.168.1") is 192.168.0.1 (inet_aton rules), so "192.168.1/24" once compiled as
        // 192.168.0.0/24: an allow-list admitted the wrong /24 and missed the intended one. `check` refuses it now,
        // and the engine, should it get one anyway, matches nothing with it in an ALLOW policy.
        var load = ReviewEngine.Check("""
            version: 1
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
            routes:
              - { name: internal, match: { path_prefix: /internal }, upstream: "http://127.0.0.1:9", authentication: { require_token: false }, policies: [office-only] }
            policies:
              office-only:
                action: allow
                rules:
                  - from: { ip_blocks: ["192.168.1/24"] }
            """);
        Assert.False(load.IsValid);
        Assert.Contains(load.Errors, e => e.Path.Contains("ip_blocks", StringComparison.Ordinal) && e.Message.Contains("192.168.1/24", StringComparison.Ordinal));

        var compiled = CompiledPolicySetFor(new PolicyConfig
        {
            Name = "office-only",
            Rules = [new PolicyRuleConfig { From = new FromConfig { IpBlocks = ["192.168.1/24"] } }],
        });
        var wrongNet = ReviewEngine.Request("/internal/x", source: IPAddress.Parse("192.168.0.7"));
        Assert.False(compiled.Evaluate(new PolicyInput(wrongNet, "/internal/x", Principal.Anonymous)).Allowed);
    }

    // ---- low: an IPv4-mapped IPv6 block never matches an IPv4 source ----

    [Fact]
    public async Task Policy_IPv4MappedDenyBlock_MatchesTheIPv4Source()
    {
        await using var engine = await ReviewEngine.CreateAsync(
            routes: """
                  - name: any
                    match: { path_prefix: / }
                    upstream: http://127.0.0.1:9
                    authentication: { issuers: [corp], require_token: false }
                """,
            policies: """
                  no-ten:
                    action: deny
                    global: true
                    rules:
                      - from: { ip_blocks: ["::ffff:10.0.0.0/104"] }
                """);

        // The gateway adapter maps ::ffff:10.1.2.3 to 10.1.2.3 before deciding, so this block never matches anything.
        var decision = await engine.DecideAsync(ReviewEngine.Request("/x", source: IPAddress.Parse("10.1.2.3")));
        Assert.False(decision.Allowed, "::ffff:10.0.0.0/104 did not deny 10.1.2.3");
    }

    // ---- medium: introspection exp/nbf out of DateTimeOffset range → 503 instead of a decision ----

    [Theory]
    [InlineData("1e17")]
    [InlineData("-1e17")]
    public async Task Introspection_OutOfRangeExp_IsADecision_NotUnavailable(string exp)
    {
        await using var server = new LoopbackServer(_ => LoopbackResponse.Json(
            $$"""{"active":true,"sub":"svc","scope":"orders.read","exp":{{exp}}}"""));
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

        var decision = await engine.DecideAsync(ReviewEngine.Request(token: "opaque-token-123"));

        // FromUnixTimeMilliseconds throws on the saturated value; the exception becomes "introspection unavailable":
        // 503 on every request (never cached, so the AS is asked again each time).
        Assert.NotEqual(503, decision.StatusCode);
        if (exp.StartsWith('-'))
        {
            Assert.Equal(401, decision.StatusCode);
        }
    }
}
