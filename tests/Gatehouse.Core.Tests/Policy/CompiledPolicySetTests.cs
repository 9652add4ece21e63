using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Policy;
using static Gatehouse.Tests.Policy.PolicyFixtures;

namespace Gatehouse.Tests.Policy;

public sealed class CompiledPolicySetTests
{
    private static readonly PolicyConfig OrdersRead = MakePolicy("orders-read", PolicyAction.Allow,
        Rule(to: new ToConfig { Methods = ["GET"], Paths = ["/orders/*"] }, when: When("scopes", "orders.read")),
        Rule(to: new ToConfig { Methods = ["POST"], Paths = ["/orders"] }, when: When("scopes", "orders.write")));

    private static readonly PolicyConfig BlockAdmin = MakePolicy("block-admin", PolicyAction.Deny,
        Rule(to: new ToConfig { Paths = ["/admin/*", "/admin"] }));

    public sealed record Case(string Name, PolicyConfig[] Policies, PolicyInput Input, bool Allowed, string Reason)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Semantics => new()
    {
        new("no policy → allow", [], Input(), true, ReasonCodes.NoPolicy),
        new("allow matched", [OrdersRead], Input(), true, "policy.allow_matched:orders-read/rule0"),
        new("second rule matched", [OrdersRead], Input("POST", "/orders", scopes: ["orders.write"]), true, "policy.allow_matched:orders-read/rule1"),
        new("no allow match → deny", [OrdersRead], Input("DELETE"), false, ReasonCodes.PolicyNoAllowMatch),
        new("only a scope failed → scope.missing", [OrdersRead], Input("POST", "/orders"), false, "scope.missing:orders.write"),
        new("DENY beats ALLOW", [OrdersRead, BlockAdmin, MakePolicy("allow-all", PolicyAction.Allow, Rule())], Input(path: "/admin/x"), false, "policy.deny_matched:block-admin/rule0"),
        new("DENY not matched, no ALLOW → allow", [BlockAdmin], Input(), true, ReasonCodes.NoPolicy),
        new("empty rule allows everything", [MakePolicy("allow-all", PolicyAction.Allow, Rule())], Input("DELETE"), true, "policy.allow_matched:allow-all/rule0"),
        new("ALLOW with no rules allows nothing", [MakePolicy("allow-nothing", PolicyAction.Allow)], Input(), false, ReasonCodes.PolicyNoAllowMatch),
        new("DENY with no rules denies nothing", [MakePolicy("deny-nothing", PolicyAction.Deny)], Input(), true, ReasonCodes.NoPolicy),
        new("AUDIT never changes the outcome", [MakePolicy("audit-all", PolicyAction.Audit, Rule())], Input(), true, ReasonCodes.NoPolicy),
        new("dry-run DENY never denies", [BlockAdmin with { DryRun = true }], Input(path: "/admin"), true, ReasonCodes.NoPolicy),
        new("dry-run ALLOW does not make an ALLOW apply", [MakePolicy("v2", PolicyAction.Allow) with { DryRun = true }], Input(), true, ReasonCodes.NoPolicy),
        new("CUSTOM fails closed (enforced as deny)", [MakePolicy("ext", PolicyAction.Custom, Rule())], Input(), false, "policy.deny_matched:ext/rule0"),
        new("anonymous: scope condition fails", [OrdersRead], Input(token: false), false, "scope.missing:orders.read"),
        new("anonymous: not_ scope passes", [MakePolicy("p", PolicyAction.Allow, Rule(when: WhenNot("scopes", "banned")))], Input(token: false), true, "policy.allow_matched:p/rule0"),
        new("uncompilable condition in ALLOW matches nothing", [MakePolicy("p", PolicyAction.Allow, Rule(when: When("bogus", "x")))], Input(), false, ReasonCodes.PolicyNoAllowMatch),
        new("uncompilable condition in DENY matches everything", [MakePolicy("d", PolicyAction.Deny, Rule(when: When("bogus", "x")))], Input(), false, "policy.deny_matched:d/rule0"),
        new("bad CIDR in DENY fails closed", [MakePolicy("d", PolicyAction.Deny, Rule(from: new FromConfig { IpBlocks = ["10.0.0.0/99"] }))], Input(), false, "policy.deny_matched:d/rule0"),
        new("bad glob in ALLOW fails closed", [MakePolicy("p", PolicyAction.Allow, Rule(to: new ToConfig { Paths = ["/a/*/b"] }))], Input(path: "/a/x/b"), false, ReasonCodes.PolicyNoAllowMatch),
    };

    [Theory]
    [MemberData(nameof(Semantics))]
    public void Evaluates_with_istio_semantics(Case c)
    {
        var set = CompiledPolicySet.Compile(c.Policies);
        foreach (var trace in new[] { false, true })
        {
            var result = set.Evaluate(c.Input, trace);
            Assert.Equal(c.Allowed, result.Allowed);
            Assert.Equal(c.Reason, result.Reasons[0]);
            Assert.Equal(trace && c.Policies.Length > 0, result.Trace.Count > 0);
        }
    }

    public sealed record ConditionCase(string Name, PolicyRuleConfig Rule, PolicyInput Input, bool Matches)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ConditionCase> Conditions => new()
    {
        // from.principals (SPIFFE, Istio globs)
        new("principal exact", Rule(from: new FromConfig { Principals = [Checkout] }), Input(), true),
        new("principal other", Rule(from: new FromConfig { Principals = [Billing] }), Input(), false),
        new("principal prefix glob", Rule(from: new FromConfig { Principals = ["spiffe://cluster.local/ns/shop/*"] }), Input(), true),
        new("principal suffix glob", Rule(from: new FromConfig { Principals = ["*/sa/checkout"] }), Input(), true),
        new("principal presence", Rule(from: new FromConfig { Principals = ["*"] }), Input(), true),
        new("principal presence without mTLS", Rule(from: new FromConfig { Principals = ["*"] }), Input(workload: null), false),
        new("not_principals without mTLS passes", Rule(from: new FromConfig { NotPrincipals = [Checkout] }), Input(workload: null), true),
        new("not_principals matching fails", Rule(from: new FromConfig { NotPrincipals = ["*/ns/shop/*"] }), Input(), false),
        // from.namespaces
        new("namespace", Rule(from: new FromConfig { Namespaces = ["shop"] }), Input(), true),
        new("namespace other", Rule(from: new FromConfig { Namespaces = ["billing"] }), Input(), false),
        new("namespace glob", Rule(from: new FromConfig { Namespaces = ["sh*"] }), Input(), true),
        new("not_namespaces", Rule(from: new FromConfig { NotNamespaces = ["billing"] }), Input(), true),
        new("namespace of a non-Istio SPIFFE ID", Rule(from: new FromConfig { Namespaces = ["shop"] }), Input(workload: "spiffe://td/workload/shop"), false),
        // from.ip_blocks
        new("IPv4 CIDR", Rule(from: new FromConfig { IpBlocks = ["10.0.0.0/8"] }), Input(), true),
        new("IPv4 CIDR miss", Rule(from: new FromConfig { IpBlocks = ["192.168.0.0/16"] }), Input(), false),
        new("IPv4 odd prefix", Rule(from: new FromConfig { IpBlocks = ["10.1.2.0/23"] }), Input(ip: "10.1.3.9"), true),
        new("IPv4 odd prefix miss", Rule(from: new FromConfig { IpBlocks = ["10.1.2.0/23"] }), Input(ip: "10.1.4.1"), false),
        new("single address", Rule(from: new FromConfig { IpBlocks = ["10.1.2.3"] }), Input(), true),
        new("IPv4-mapped IPv6 source", Rule(from: new FromConfig { IpBlocks = ["10.0.0.0/8"] }), Input(ip: "::ffff:10.9.9.9"), true),
        new("IPv6 CIDR", Rule(from: new FromConfig { IpBlocks = ["2001:db8::/32"] }), Input(ip: "2001:db8:1::5"), true),
        new("IPv6 CIDR miss", Rule(from: new FromConfig { IpBlocks = ["2001:db8::/32"] }), Input(ip: "2001:db9::5"), false),
        new("IPv6 CIDR vs IPv4 source", Rule(from: new FromConfig { IpBlocks = ["::/0"] }), Input(), false),
        new("not_ip_blocks", Rule(from: new FromConfig { NotIpBlocks = ["192.168.0.0/16"] }), Input(), true),
        new("no source address", Rule(from: new FromConfig { IpBlocks = ["0.0.0.0/0"] }), Input(ip: null), false),
        // from.request_principals
        new("request principal", Rule(from: new FromConfig { RequestPrincipals = ["https://idp.example.com//alice"] }), Input(), true),
        new("request principal issuer glob", Rule(from: new FromConfig { RequestPrincipals = ["https://idp.example.com//*"] }), Input(), true),
        new("request principal any", Rule(from: new FromConfig { RequestPrincipals = ["*"] }), Input(), true),
        new("request principal without token", Rule(from: new FromConfig { RequestPrincipals = ["*"] }), Input(token: false), false),
        new("not_request_principals without token", Rule(from: new FromConfig { NotRequestPrincipals = ["*"] }), Input(token: false), true),
        // to.*
        new("method", Rule(to: new ToConfig { Methods = ["GET", "HEAD"] }), Input("HEAD"), true),
        new("method case-insensitive", Rule(to: new ToConfig { Methods = ["DELETE"] }), Input("delete"), true),
        new("not_methods", Rule(to: new ToConfig { NotMethods = ["DELETE"] }), Input("GET"), true),
        new("path exact", Rule(to: new ToConfig { Paths = ["/orders/1"] }), Input(), true),
        new("path prefix", Rule(to: new ToConfig { Paths = ["/orders/*"] }), Input(path: "/orders/1/items"), true),
        new("path prefix excludes the bare directory (Istio)", Rule(to: new ToConfig { Paths = ["/orders/*"] }), Input(path: "/orders"), false),
        new("path suffix", Rule(to: new ToConfig { Paths = ["*.json"] }), Input(path: "/a/b.json"), true),
        new("path any", Rule(to: new ToConfig { Paths = ["*"] }), Input(path: "/x"), true),
        new("path case-sensitive", Rule(to: new ToConfig { Paths = ["/admin"] }), Input(path: "/ADMIN"), false),
        new("not_paths", Rule(to: new ToConfig { NotPaths = ["/admin/*"] }), Input(path: "/orders"), true),
        new("host case-insensitive", Rule(to: new ToConfig { Hosts = ["API.example.com"] }), Input(), true),
        new("host wildcard", Rule(to: new ToConfig { Hosts = ["*.example.com"] }), Input(), true),
        new("not_hosts", Rule(to: new ToConfig { NotHosts = ["*.internal"] }), Input(), true),
        new("port", Rule(to: new ToConfig { Ports = ["8443", "443"] }), Input(), true),
        new("port miss", Rule(to: new ToConfig { Ports = ["8443"] }), Input(), false),
        new("not_ports", Rule(to: new ToConfig { NotPorts = ["8443"] }), Input(), true),
        // when
        new("scopes any-of", Rule(when: When("scopes", "orders.write", "orders.read")), Input(), true),
        new("scopes miss", Rule(when: When("scopes", "orders.write")), Input(), false),
        new("scopes glob", Rule(when: When("scopes", "orders.*")), Input(), true),
        new("not_scopes", Rule(when: WhenNot("scopes", "orders.write")), Input(), true),
        new("not_ prefixed key", Rule(when: When("not_scopes", "orders.read")), Input(), false),
        new("roles", Rule(when: When("roles", "clerk")), Input(roles: ["clerk"]), true),
        new("roles miss", Rule(when: When("roles", "clerk")), Input(roles: ["admin"]), false),
        new("claim scalar", Rule(when: When("claims.tenant", "acme")), Input(claims: """{"tenant":"acme"}"""), true),
        new("claim nested array", Rule(when: When("claims.realm_access.roles", "clerk")), Input(claims: """{"realm_access":{"roles":["user","clerk"]}}"""), true),
        new("claim nested array miss", Rule(when: When("claims.realm_access.roles", "admin")), Input(claims: """{"realm_access":{"roles":["user","clerk"]}}"""), false),
        new("claim number", Rule(when: When("claims.level", "3")), Input(claims: """{"level":3}"""), true),
        new("claim bool", Rule(when: When("claims.email_verified", "true")), Input(claims: """{"email_verified":true}"""), true),
        new("claim key with colon", Rule(when: When("claims.cognito:groups", "admins")), Input(claims: """{"cognito:groups":["admins"]}"""), true),
        new("claim key with dots (URL)", Rule(when: When("claims.https://example.com/tier", "gold")), Input(claims: """{"https://example.com/tier":"gold"}"""), true),
        new("claim glob", Rule(when: When("claims.email", "*@example.com")), Input(claims: """{"email":"a@example.com"}"""), true),
        new("claim absent", Rule(when: When("claims.tenant", "acme")), Input(), false),
        new("claim object is not a value", Rule(when: When("claims.realm_access", "x")), Input(claims: """{"realm_access":{"roles":[]}}"""), false),
        new("not_ claim absent passes", Rule(when: WhenNot("claims.tenant", "acme")), Input(), true),
        new("claim without token", Rule(when: When("claims.sub", "*")), Input(token: false), false),
        new("header", Rule(when: When("headers.x-tenant", "acme")), Input(headers: new() { ["x-tenant"] = "acme" }), true),
        new("client_id", Rule(when: When("client_id", "web")), Input(), true),
        new("issuer name", Rule(when: When("issuer", "corp")), Input(), true),
        // AND across fields
        new("AND: all hold", Rule(new FromConfig { Namespaces = ["shop"] }, new ToConfig { Methods = ["GET"] }, When("scopes", "orders.read")), Input(), true),
        new("AND: one fails", Rule(new FromConfig { Namespaces = ["shop"] }, new ToConfig { Methods = ["POST"] }, When("scopes", "orders.read")), Input(), false),
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void Evaluates_conditions(ConditionCase c)
    {
        var set = CompiledPolicySet.Compile([MakePolicy("p", PolicyAction.Allow, c.Rule)]);
        Assert.Equal(c.Matches, set.Evaluate(c.Input).Allowed);
        Assert.Equal(c.Matches, set.Evaluate(c.Input, trace: true).Allowed);
    }

    [Fact]
    public void Records_audit_and_dry_run_without_changing_the_outcome()
    {
        var set = CompiledPolicySet.Compile(
        [
            OrdersRead,
            MakePolicy("audit-reads", PolicyAction.Audit, Rule(to: new ToConfig { Methods = ["GET"] })),
            BlockAdmin with { Name = "shadow-deny", DryRun = true, Rules = [Rule(to: new ToConfig { Paths = ["/orders/*"] })] },
            MakePolicy("shadow-allow", PolicyAction.Allow, Rule(when: When("roles", "clerk"))) with { DryRun = true },
        ]);

        var result = set.Evaluate(Input());

        Assert.True(result.Allowed);
        Assert.Equal("policy.allow_matched:orders-read/rule0", result.Reasons[0]);
        Assert.Equal(
            ["policy.audit_matched:audit-reads/rule0", "policy.dry_run_deny:shadow-deny/rule0", "policy.dry_run_deny:shadow-allow"],
            result.Recorded);
    }

    [Fact]
    public void Reports_the_deciding_policy()
    {
        var set = CompiledPolicySet.Compile([OrdersRead, BlockAdmin]);
        Assert.Equal("block-admin/rule0", set.Evaluate(Input(path: "/admin")).DecidingPolicy);
        Assert.Equal("orders-read/rule0", set.Evaluate(Input()).DecidingPolicy);
        Assert.Null(set.Evaluate(Input("DELETE")).DecidingPolicy);
    }

    [Fact]
    public void Scope_missing_carries_the_scope_for_insufficient_scope()
    {
        var result = CompiledPolicySet.Compile([OrdersRead]).Evaluate(Input("POST", "/orders"));
        Assert.Equal(["scope.missing:orders.write", ReasonCodes.PolicyNoAllowMatch], result.Reasons);
        Assert.Equal("orders.write", result.MissingScope);
    }

    [Fact]
    public void Scope_missing_only_when_the_scope_is_the_single_failure()
    {
        var result = CompiledPolicySet.Compile([OrdersRead]).Evaluate(Input("PUT", "/orders"));
        Assert.Equal([ReasonCodes.PolicyNoAllowMatch], result.Reasons);
        Assert.Null(result.MissingScope);
    }

    [Fact]
    public void Trace_names_every_policy_and_rule_and_why()
    {
        var set = CompiledPolicySet.Compile([BlockAdmin, OrdersRead]);
        var result = set.Evaluate(Input("POST", "/orders"), trace: true);

        Assert.Collection(result.Trace,
            e => Assert.Equal(("block-admin", "deny", (int?)null, false), (e.Policy, e.Action, e.Rule, e.Matched)),
            e => Assert.Contains("to.paths any of [/admin/*, /admin]: got '/orders'", e.Detail, StringComparison.Ordinal),
            e => Assert.Equal(("orders-read", (int?)null, false, "no rule matched"), (e.Policy, e.Rule, e.Matched, e.Detail)),
            e => Assert.Contains("to.methods any of [GET]: got 'POST'", e.Detail, StringComparison.Ordinal),
            e => Assert.Equal("failed: when.scopes any of [orders.write]: got [orders.read]", e.Detail));
    }

    [Fact]
    public void Trace_reports_uncompilable_conditions()
    {
        var set = CompiledPolicySet.Compile([MakePolicy("d", PolicyAction.Deny, Rule(when: When("bogus", "x")))]);
        Assert.Equal(["d/rule0: when.bogus: unknown when key 'bogus'"], set.CompileErrors);
        var trace = set.Evaluate(Input(), trace: true).Trace;
        Assert.Contains("fail closed", trace[1].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Allow_path_is_allocation_free_without_trace()
    {
        var set = CompiledPolicySet.Compile([BlockAdmin, OrdersRead]);
        var input = Input();
        set.Evaluate(input);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            set.Evaluate(input);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Duplicate_policy_names_compile_once()
    {
        var set = CompiledPolicySet.Compile([OrdersRead, OrdersRead, BlockAdmin]);
        Assert.Equal(["orders-read", "block-admin"], set.PolicyNames);
        Assert.False(set.IsEmpty);
        Assert.True(CompiledPolicySet.Compile([]).IsEmpty);
    }
}
