using Gatehouse.Cli.Import.Istio;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Policy;
using static Gatehouse.Tests.Import.Istio.IstioRequests;

namespace Gatehouse.Tests.Import.Istio;

public sealed class IstioImporterTests
{
    private static readonly IstioImportResult Sample = IstioImporter.Import([Manifest("bookinfo.yaml"), Manifest("mesh.yaml")]);

    private static (string, string) Manifest(string name) => (name, File.ReadAllText(FixturePath(name)));

    private static string FixturePath(string name) => RepoPaths.Of("tests", "Gatehouse.Tests", "Import", "Istio", "Fixtures", name);

    private static string Expected(string name) => File.ReadAllText(FixturePath(name)).ReplaceLineEndings("\n");

    private static PolicyConfig Policy(string name) => Sample.Policies.Single(p => p.Name == name);

    [Fact]
    public void Emits_the_expected_gatehouse_yaml()
    {
        var expected = Expected("expected.gatehouse.yaml");
        Assert.Equal(expected, Sample.Yaml.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Imports_request_authentication_as_issuers()
    {
        Assert.Equal(["foo.jwt-example", "multi-0", "multi-1"], Sample.Issuers.Select(i => i.Name));
        var issuer = Sample.Issuers[0];
        Assert.Equal("testing@secure.istio.io", issuer.Issuer);
        Assert.EndsWith("/jwks.json", issuer.JwksUri, StringComparison.Ordinal);
        Assert.Equal(["httpbin.foo.svc.cluster.local"], issuer.Audiences);
        Assert.True(Sample.Issuers[1].Discovery);
        Assert.Equal(TimeSpan.FromSeconds(3), Sample.Issuers[2].Keys.FetchTimeout);
    }

    public static TheoryData<string, string> WarnedFields => new()
    {
        { "selector", "jwt-example: spec.selector:" },
        { "forwardOriginalToken", "spec.jwtRules[0].forwardOriginalToken:" },
        { "outputClaimToHeaders names the headers", "outputClaimToHeaders: set routes[].claim_headers instead (x-jwt-group: groups)" },
        { "fromHeaders", "spec.jwtRules[1].fromHeaders:" },
        { "missing audiences", "spec.jwtRules[0].audiences: absent" },
        { "targetRefs", "audit-writes: spec.targetRefs:" },
        { "CUSTOM provider", "ext-authz: spec.provider:" },
        { "CUSTOM action", "ext-authz: spec.action:" },
        { "path template", "path template '/v1/{*}/items'" },
        { "ports", "notPorts: ports: Gatehouse's port comes from the request's Host header" },
        { "space-delimited scope", "'scope' is matched word by word in Istio" },
        { "other kinds", "VirtualService/not-security" },
        { "rule expansion", "2 sources × 1 operations became 2 Gatehouse rules" },
    };

    [Theory]
    [MemberData(nameof(WarnedFields))]
    public void Warns_for_each_field_it_cannot_carry_over(string name, string fragment) =>
        Assert.True(Sample.Warnings.Any(w => w.Contains(fragment, StringComparison.Ordinal)), $"{name}: no warning containing '{fragment}'");

    [Fact]
    public void Maps_policy_metadata()
    {
        Assert.True(Policy("istio-system.allow-nothing").Global);
        Assert.Empty(Policy("istio-system.allow-nothing").Rules);
        Assert.True(Policy("shop.audit-writes").DryRun);
        Assert.Equal(PolicyAction.Audit, Policy("shop.audit-writes").Action);
        Assert.DoesNotContain(Sample.Policies, p => p.Name == "shop.ext-authz");
        Assert.Equal(PolicyAction.Deny, Policy("foo.deny-admin").Action);
    }

    public sealed record SemanticCase(string Name, string Policy, PolicyInput Input, bool Allowed)
    {
        public override string ToString() => Name;
    }

    private const string Sleep = "spiffe://cluster.local/ns/default/sa/sleep";
    private const string IstioClaims = """{"iss":"testing@secure.istio.io","groups":["group1"]}""";

    public static TheoryData<SemanticCase> Semantics => new()
    {
        new("sleep GET /info with claims", "foo.httpbin", Input(path: "/info/x", workload: Sleep, claims: IstioClaims), true),
        new("dev namespace GET /info", "foo.httpbin", Input(path: "/info", workload: "spiffe://cluster.local/ns/dev/sa/x", claims: IstioClaims), true),
        new("other namespace", "foo.httpbin", Input(path: "/info", workload: "spiffe://cluster.local/ns/prod/sa/x", claims: IstioClaims), false),
        new("wrong group", "foo.httpbin", Input(path: "/info", workload: Sleep, claims: """{"iss":"testing@secure.istio.io","groups":["g2"]}"""), false),
        new("POST /data with scope", "foo.httpbin", Input("POST", "/data", scopes: ["data.write"]), true),
        new("POST /data with banned role claim", "foo.httpbin", Input("POST", "/data", scopes: ["data.write"], claims: """{"realm_access":{"roles":["banned"]}}"""), false),
        new("POST /data with scope among others", "foo.httpbin", Input("POST", "/data", scopes: ["data.read", "data.write"], claims: """{"scope":"data.read data.write"}"""), true),
        new("POST /data with the scope only in scp", "foo.httpbin", Input("POST", "/data", scopes: ["data.write"], claims: """{"scp":"data.write"}"""), false),
        new("deny-admin from outside 10/8 with token", "foo.deny-admin", Input(path: "/admin/x", ip: "192.0.2.1"), false),
        new("deny-admin from inside 10/8", "foo.deny-admin", Input(path: "/admin/x", ip: "10.0.0.1"), true),
        new("deny-admin on the excluded port is denied too (ports fail closed)", "foo.deny-admin", Input(path: "/admin", ip: "192.0.2.1", port: 15021), false),
        new("allow-nothing", "istio-system.allow-nothing", Input(), false),
        new("path template fails closed in ALLOW", "shop.conditions", Input(path: "/v1/a/items", ip: "192.168.1.1", port: 8080, workload: "spiffe://cluster.local/ns/shop/sa/web", headers: new() { ["x-tenant"] = "acme" }), false),
    };

    [Theory]
    [MemberData(nameof(Semantics))]
    public void Imported_policies_keep_istio_semantics(SemanticCase c)
    {
        var set = CompiledPolicySet.Compile([Policy(c.Policy)]);
        Assert.Equal(c.Allowed, set.Evaluate(c.Input).Allowed);
    }

    [Fact]
    public void Merges_when_keys_into_source_and_operation()
    {
        var result = IstioImporter.Import([("p.yaml", """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: p, namespace: shop }
            spec:
              rules:
              - to: [ { operation: { paths: ["/v1/*"] } } ]
                when:
                - { key: source.ip, values: ["192.168.0.0/16"] }
                - { key: source.principal, values: ["cluster.local/ns/shop/sa/web"] }
                - { key: request.auth.principal, values: ["issuer.example.com/alice"] }
                - { key: "request.headers[X-Tenant]", values: [acme] }
                - { key: "request.auth.audiences", values: [orders] }
            """)]);
        var rule = Assert.Single(result.Policies[0].Rules);
        Assert.Equal(["192.168.0.0/16"], rule.From!.IpBlocks);
        Assert.Equal(["spiffe://cluster.local/ns/shop/sa/web"], rule.From.Principals);
        Assert.Equal(["issuer.example.com/alice"], rule.From.RequestPrincipals);
        Assert.Equal(["headers.x-tenant", "claims.aud"], rule.When.Select(w => w.Key));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Intersects_a_when_condition_with_the_same_source_field()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: p }
            spec:
              rules:
              - from:
                - source: { namespaces: [a, b] }
                when:
                - key: source.namespace
                  values: [b, c]
            """;
        var result = IstioImporter.Import([("p.yaml", yaml)]);
        Assert.Equal(["b"], result.Policies[0].Rules[0].From!.Namespaces);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.1.0.0/16", "10.1.0.0/16")]
    [InlineData("10.1.2.3", "10.0.0.0/8", "10.1.2.3")]
    [InlineData("10.0.0.0/8", "192.168.0.0/16", null)]
    [InlineData("2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/48")]
    [InlineData("10.0.0.0/8", "2001:db8::/32", null)]
    public void Intersects_cidr_blocks(string a, string b, string? expected) =>
        Assert.Equal(expected, IstioRuleConverter.IntersectCidr(a, b));

    [Theory]
    [InlineData("*", "/a", "/a")]
    [InlineData("/a/*", "/a/b/*", "/a/b/*")]
    [InlineData("/a/*", "/b/*", null)]
    [InlineData("/a/x", "/a/*", "/a/x")]
    [InlineData("*.js", "*/app.js", "*/app.js")]
    [InlineData("/a/*", "*.js", null)]
    public void Intersects_globs_to_a_subset(string a, string b, string? expected) =>
        Assert.Equal(expected, IstioRuleConverter.IntersectGlob(a, b, StringComparison.Ordinal));

    [Fact]
    public void A_when_condition_with_no_value_in_common_leaves_the_allow_rule_out()
    {
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: p }
            spec:
              rules:
              - from:
                - source: { ipBlocks: ["10.0.0.0/8"] }
                when:
                - key: source.ip
                  values: ["192.168.0.0/16"]
            """;
        var result = IstioImporter.Import([("p.yaml", yaml)]);
        Assert.Empty(result.Policies[0].Rules);
    }

    [Fact]
    public void Parses_claim_paths()
    {
        Assert.Equal(["a"], IstioImporter.ParseClaimPath("request.auth.claims[a]"));
        Assert.Equal(["a", "b", "c"], IstioImporter.ParseClaimPath("request.auth.claims[a][b][c]"));
        Assert.Null(IstioImporter.ParseClaimPath("request.auth.claims[a"));
        Assert.Null(IstioImporter.ParseClaimPath("request.auth.claims[]"));
    }

    [Fact]
    public void Reports_invalid_yaml_and_continues()
    {
        var result = IstioImporter.Import([("bad.yaml", "a: [unclosed"), Manifest("mesh.yaml")]);
        Assert.StartsWith("bad.yaml:", result.Warnings[0], StringComparison.Ordinal);
        Assert.NotEmpty(result.Policies);
    }

    [Fact]
    public void Accepts_kind_list()
    {
        const string yaml = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: security.istio.io/v1
              kind: AuthorizationPolicy
              metadata: { name: deny-all, namespace: x }
              spec: { action: DENY, rules: [{}] }
            """;
        var result = IstioImporter.Import([("list.yaml", yaml)]);
        var policy = Assert.Single(result.Policies);
        Assert.Equal("x.deny-all", policy.Name);
        Assert.False(CompiledPolicySet.Compile([policy]).Evaluate(Input()).Allowed);
        Assert.Equal(ReasonCodes.PolicyDenyMatched + ":x.deny-all/rule0", CompiledPolicySet.Compile([policy]).Evaluate(Input()).Reasons[0]);
    }

    [Theory]
    [InlineData("ALLOW", 0)]
    [InlineData("DENY", 1)]
    public void An_unknown_spec_field_fails_the_policy_closed(string action, int rules)
    {
        var result = IstioImporter.Import([("p.yaml", $$"""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: p, namespace: shop }
            spec:
              action: {{action}}
              futureField: true
              rules:
              - to: [ { operation: { methods: ["GET"] } } ]
            """)]);
        var policy = Assert.Single(result.Policies);
        Assert.Equal(rules, policy.Rules.Count);
        Assert.All(policy.Rules, r => Assert.True(r.From is null && r.To is null && r.When.Count == 0)); // DENY: matches everything
        Assert.Contains(result.Warnings, w => w.Contains("spec.futureField: unknown field: the policy fails closed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ALLOW", "ports", false)]
    [InlineData("ALLOW", "notPorts", false)]
    [InlineData("DENY", "ports", true)]
    [InlineData("DENY", "notPorts", true)]
    public void Ports_fail_closed_because_gatehouse_takes_the_port_from_the_host_header(string action, string field, bool ruleKept)
    {
        var result = IstioImporter.Import([("p.yaml", $$"""
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: p, namespace: shop }
            spec:
              action: {{action}}
              rules:
              - to: [ { operation: { methods: ["GET"], {{field}}: ["8080"] } } ]
            """)]);
        var policy = Assert.Single(result.Policies);
        if (ruleKept)
        {
            var rule = Assert.Single(policy.Rules);
            Assert.Equal(["GET"], rule.To!.Methods);
            Assert.Empty(rule.To.Ports);
            Assert.Empty(rule.To.NotPorts);
        }
        else
        {
            Assert.Empty(policy.Rules);
        }
    }
}
