using Gatehouse.Cli.Import.Istio;
using Gatehouse.Configuration;
using Gatehouse.Policy;
using static Gatehouse.Tests.Import.Istio.IstioRequests;

namespace Gatehouse.Tests.Import.Istio;

/// <summary>The policies istio.io publishes in its authorization tasks and reference, imported.</summary>
public sealed class IstioIoExamplesTests
{
    private static readonly IstioImportResult s_result = IstioImporter.Import(
        [("istio-io-examples.yaml", File.ReadAllText(RepoPaths.Of("tests", "Gatehouse.Tests", "Import", "Istio", "Fixtures", "istio-io-examples.yaml")))],
        new IstioImportOptions { TrustDomain = "cluster.local" });

    private const string Productpage = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage";
    private const string Reviews = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";
    private const string Sleep = "spiffe://cluster.local/ns/default/sa/sleep";
    private const string IstioJwt = """{"iss":"testing@secure.istio.io","sub":"testing@secure.istio.io","groups":["group1","group2"]}""";

    private static PolicyConfig Policy(string name) => s_result.Policies.Single(p => p.Name == name);

    private static bool Matches(string policy, Gatehouse.Policy.PolicyInput input)
    {
        var p = Policy(policy);
        var allowed = CompiledPolicySet.Compile([p with { DryRun = false }]).Evaluate(input).Allowed;
        return p.Action == PolicyAction.Allow ? allowed : !allowed;
    }

    public sealed record Case(string Name, string Policy, Gatehouse.Policy.PolicyInput Input, bool Matches)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases => new()
    {
        // authz-http
        new("allow-nothing matches nothing", "default.allow-nothing", Input(), false),
        new("productpage-viewer: GET from anyone", "default.productpage-viewer", Input("GET", "/productpage", workload: null), true),
        new("productpage-viewer: POST", "default.productpage-viewer", Input("POST", "/productpage"), false),
        new("details-viewer: GET from productpage", "default.details-viewer", Input("GET", "/details/0", workload: Productpage), true),
        new("details-viewer: GET from reviews", "default.details-viewer", Input("GET", "/details/0", workload: Reviews), false),
        new("details-viewer: GET without mTLS", "default.details-viewer", Input("GET", "/details/0", workload: null), false),
        new("ratings-viewer: GET from reviews", "default.ratings-viewer", Input("GET", "/ratings/0", workload: Reviews), true),
        // authz-jwt
        new("require-jwt: issuer/subject and group1", "foo.require-jwt", Input(claims: IstioJwt, iss: "testing@secure.istio.io", sub: "testing@secure.istio.io"), true),
        new("require-jwt: no groups claim", "foo.require-jwt", Input(claims: """{"sub":"testing@secure.istio.io"}""", iss: "testing@secure.istio.io", sub: "testing@secure.istio.io"), false),
        new("require-jwt: no token", "foo.require-jwt", Input(token: false), false),
        // authz-deny
        new("deny-method-get: GET without admin token", "foo.deny-method-get", Input("GET", "/get"), true),
        new("deny-method-get: GET with x-token admin", "foo.deny-method-get", Input("GET", "/get", headers: new() { ["x-token"] = "admin" }), false),
        new("deny-method-get: POST", "foo.deny-method-get", Input("POST", "/post"), false),
        new("allow-path-ip: /ip", "foo.allow-path-ip", Input(path: "/ip"), true),
        new("allow-path-ip: /headers", "foo.allow-path-ip", Input(path: "/headers"), false),
        // authz-ingress
        new("ingress-policy: listed address", "istio-system.ingress-policy", Input(ip: "1.2.3.4"), true),
        new("ingress-policy: listed block", "istio-system.ingress-policy", Input(ip: "5.6.7.8"), true),
        new("ingress-policy: other address", "istio-system.ingress-policy", Input(ip: "9.9.9.9"), false),
        new("remoteIpBlocks ALLOW fails closed: even the listed address", "istio-system.ingress-policy-remote", Input(ip: "1.2.3.4"), false),
        new("remoteIpBlocks DENY fails closed: denies every address", "istio-system.ingress-deny-remote", Input(ip: "9.9.9.9"), true),
        // authz-dry-run (matching is the same; dry_run only keeps it from deciding)
        new("deny-path-headers: /headers", "foo.deny-path-headers", Input(path: "/headers"), true),
        // reference: service accounts
        new("httpbin-sa: default/sleep", "foo.httpbin-sa", Input(workload: Sleep), true),
        new("httpbin-sa: curl in the policy's namespace", "foo.httpbin-sa", Input(workload: "spiffe://cluster.local/ns/foo/sa/curl"), true),
        new("httpbin-sa: curl in another namespace", "foo.httpbin-sa", Input(workload: "spiffe://cluster.local/ns/default/sa/curl"), false),
        new("httpbin-sa: any other service account", "foo.httpbin-sa", Input(workload: "spiffe://cluster.local/ns/default/sa/other"), false),
        new("httpbin-sa: no peer identity", "foo.httpbin-sa", Input(workload: null), false),
        new("deny-sa: sleep of another trust domain is denied, as Istio does", "foo.deny-sa", Input(workload: "spiffe://other.example/ns/default/sa/sleep"), true),
        // both address kinds in one source: Istio requires both; the remote part cannot be checked
        new("both-addresses ALLOW: fails closed", "foo.both-addresses", Input(ip: "10.1.2.3"), false),
        new("both-addresses DENY: denies by ipBlocks alone", "foo.deny-both-addresses", Input(ip: "10.1.2.3"), true),
        new("both-addresses DENY: other source address", "foo.deny-both-addresses", Input(ip: "192.0.2.1"), false),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Imported_examples_keep_their_meaning_or_fail_closed(Case c) =>
        Assert.Equal(c.Matches, Matches(c.Policy, c.Input));

    [Fact]
    public void Service_accounts_become_spiffe_ids_in_the_configured_trust_domain()
    {
        var result = IstioImporter.Import(
            [("sa.yaml", File.ReadAllText(RepoPaths.Of("tests", "Gatehouse.Tests", "Import", "Istio", "Fixtures", "istio-io-examples.yaml")))],
            new IstioImportOptions { TrustDomain = "example.org", TrustDomainAliases = ["old.example.org"] });
        var allow = result.Policies.Single(p => p.Name == "foo.httpbin-sa");
        Assert.Equal(
            ["spiffe://example.org/ns/default/sa/sleep", "spiffe://old.example.org/ns/default/sa/sleep", "spiffe://example.org/ns/foo/sa/curl", "spiffe://old.example.org/ns/foo/sa/curl"],
            allow.Rules.Single().From!.Principals);
        var details = result.Policies.Single(p => p.Name == "default.details-viewer");
        Assert.Equal(["spiffe://example.org/ns/default/sa/bookinfo-productpage", "spiffe://old.example.org/ns/default/sa/bookinfo-productpage"], details.Rules.Single().From!.Principals);
        // A DENY on a service account matches it in every trust domain (Istio's serviceAccounts ignore the trust domain).
        Assert.Equal(["*/ns/default/sa/sleep"], result.Policies.Single(p => p.Name == "foo.deny-sa").Rules.Single().From!.Principals);
    }

    [Fact]
    public void Inline_jwks_becomes_a_jwks_file_next_to_the_output()
    {
        var issuer = s_result.Issuers.Single(i => i.Name == "foo.inline-keys");
        Assert.Equal("foo.inline-keys.jwks.json", issuer.JwksFile);
        Assert.False(issuer.Discovery);
        Assert.Null(issuer.JwksUri);
        var file = Assert.Single(s_result.Files);
        Assert.Equal("foo.inline-keys.jwks.json", file.Name);
        Assert.Contains("\"kid\":\"k1\"", file.Content, StringComparison.Ordinal);
        Assert.Contains("jwks_file: foo.inline-keys.jwks.json", s_result.Yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_starts_with_the_version_and_lists_what_check_needs()
    {
        Assert.StartsWith("version: 1\n", s_result.Yaml, StringComparison.Ordinal);
        var edit = Assert.Single(s_result.RequiredEdits);
        Assert.StartsWith("issuers.foo.jwt-example.audiences:", edit, StringComparison.Ordinal);
        Assert.Contains("#   - " + edit, s_result.Yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Both_address_kinds_never_become_an_or()
    {
        Assert.Empty(Policy("foo.both-addresses").Rules);
        var deny = Assert.Single(Policy("foo.deny-both-addresses").Rules);
        Assert.Equal(["10.0.0.0/8"], deny.From!.IpBlocks);
        Assert.Contains(s_result.Warnings, w => w.Contains("both-addresses: spec.rules[0].from[0].source.remoteIpBlocks", StringComparison.Ordinal));
    }
}
