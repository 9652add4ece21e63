using System.Globalization;
using System.Text;
using Gatehouse.Cli.Import.Istio;
using Gatehouse.Policy;

namespace Gatehouse.Tests.Import.Istio;

/// <summary>
/// The import never widens access: over random Istio rules and random requests, an imported ALLOW rule matches only
/// requests its Istio rule matches, and an imported DENY rule matches every request its Istio rule matches. Istio's
/// side is a model written from the AuthorizationPolicy reference and istiod's RBAC generator (below), not from the
/// importer.
/// </summary>
public sealed class IstioImportPropertyTests
{
    // Vocabularies: values that exercise every translation (exact, globs, trust domains, templates, ports, both kinds
    // of address, space-delimited claims, slashes in subjects).
    private static readonly string[] s_principals = ["cluster.local/ns/default/sa/sleep", "cluster.local/ns/foo/*", "*/ns/default/sa/sleep", "*", "other.td/ns/default/sa/sleep", "*sleep", "cluster.local/ns/foo/sa/*"];
    private static readonly string[] s_serviceAccounts = ["default/sleep", "sleep", "foo/httpbin"];
    private static readonly string[] s_namespaces = ["default", "foo", "f*", "*", "d*t"];
    private static readonly string[] s_ipBlocks = ["10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "10.1.0.0/16"];
    private static readonly string[] s_requestPrincipals = ["testing@secure.istio.io/testing@secure.istio.io", "*", "*/alice", "https://idp/*", "https://idp/x/alice", "https://idp*", "*alice"];
    private static readonly string[] s_hosts = ["example.com", "*.example.com", "example.com:8080", "*", "API.example.com", "example.com."];
    private static readonly string[] s_ports = ["8080", "443"];
    private static readonly string[] s_methods = ["GET", "POST"];
    private static readonly string[] s_paths = ["/info", "/info*", "/admin/*", "*.js", "/v1/{*}/items", "/v1/{**}", "*", "/a*b"];
    private static readonly string[] s_groups = ["group1", "group*", "*"];
    private static readonly string[] s_scopes = ["read", "write", "read write", "r*"];
    private static readonly string[] s_tokens = ["admin", "*", "adm*"];

    private static readonly string[] s_workloads = ["spiffe://cluster.local/ns/default/sa/sleep", "spiffe://cluster.local/ns/foo/sa/httpbin", "spiffe://other.td/ns/default/sa/sleep", "spiffe://cluster.local/ns/dev/sa/x", "spiffe://cluster.local/ns/foo/sa/sleep"];
    private static readonly string[] s_addresses = ["10.1.2.3", "10.2.0.1", "192.168.1.1", "8.8.8.8"];
    private static readonly (string Iss, string Sub)[] s_tokensIssued = [("testing@secure.istio.io", "testing@secure.istio.io"), ("https://idp", "x/alice"), ("https://idp/x", "alice"), ("https://idp", "alice"), ("https://idp2", "bob")];
    private static readonly string[] s_requestHosts = ["example.com", "api.example.com", "other.org"];
    private static readonly string[] s_requestPaths = ["/info", "/info/x", "/admin/x", "/app.js", "/v1/a/items", "/v1/a/b", "/data", "/a-b"];

    [Fact]
    public void Imported_allow_rules_never_match_more_and_deny_rules_never_less()
    {
        var failures = new List<string>();
        var checkedRules = 0;
        for (var seed = 1; seed <= 400 && failures.Count < 5; seed++)
        {
            var random = new Random(seed);
            var action = random.Next(3) == 0 ? "DENY" : "ALLOW";
            var rule = RandomRule(random);
            var yaml = IstioManifest.Render(action, rule);
            var imported = IstioImporter.Import([("p.yaml", yaml)]).Policies.Single();
            var compiled = CompiledPolicySet.Compile([imported]);
            Assert.Empty(compiled.CompileErrors);
            checkedRules++;
            for (var i = 0; i < 60; i++)
            {
                var request = RandomRequest(random);
                var istio = IstioModel.Matches(rule, request, "foo");
                var allowed = compiled.Evaluate(request.ToInput()).Allowed;
                var gatehouse = action == "ALLOW" ? allowed : !allowed;
                var widened = action == "ALLOW" ? gatehouse && !istio : istio && !gatehouse;
                if (widened)
                {
                    failures.Add($"seed {seed}, {action}: Istio {(istio ? "matches" : "does not match")}, Gatehouse {(gatehouse ? "matches" : "does not")}\n{yaml}\nrequest: {request}");
                    break;
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.Equal(400, checkedRules);
    }

    [Fact]
    public void The_model_and_the_import_agree_where_the_import_is_exact()
    {
        // Guards the property against a model that matches nothing (then every ALLOW import would trivially pass).
        const string yaml = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: p, namespace: foo }
            spec:
              rules:
              - from: [ { source: { principals: ["cluster.local/ns/default/sa/sleep"] } } ]
                to: [ { operation: { methods: ["GET"], paths: ["/info*"] } } ]
            """;
        var rule = new IstioRule(
            [new Dictionary<string, string[]> { ["principals"] = ["cluster.local/ns/default/sa/sleep"] }],
            [new Dictionary<string, string[]> { ["methods"] = ["GET"], ["paths"] = ["/info*"] }],
            []);
        var compiled = CompiledPolicySet.Compile([IstioImporter.Import([("p.yaml", yaml)]).Policies.Single()]);
        var request = new ModelRequest("GET", "example.com", 443, "/info/x", s_workloads[0], "10.1.2.3", "10.1.2.3", null, null, null, null);
        Assert.True(IstioModel.Matches(rule, request, "foo"));
        Assert.True(compiled.Evaluate(request.ToInput()).Allowed);
        var other = request with { Workload = s_workloads[1] };
        Assert.False(IstioModel.Matches(rule, other, "foo"));
        Assert.False(compiled.Evaluate(other.ToInput()).Allowed);
    }

    private static IstioRule RandomRule(Random random)
    {
        var sources = Repeat(random, 0, 2, () => RandomFields(random, isSource: true));
        var operations = Repeat(random, 0, 2, () => RandomFields(random, isSource: false));
        var when = Repeat(random, 0, 2, () => RandomCondition(random));
        return new IstioRule(sources, operations, when);
    }

    private static Dictionary<string, string[]> RandomFields(Random random, bool isSource)
    {
        (string Name, string[] Vocabulary)[] fields = isSource
            ? [("principals", s_principals), ("serviceAccounts", s_serviceAccounts), ("namespaces", s_namespaces), ("ipBlocks", s_ipBlocks), ("remoteIpBlocks", s_ipBlocks), ("requestPrincipals", s_requestPrincipals)]
            : [("hosts", s_hosts), ("ports", s_ports), ("methods", s_methods), ("paths", s_paths)];
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var _ in Enumerable.Range(0, 1 + random.Next(2)))
        {
            var (name, vocabulary) = fields[random.Next(fields.Length)];
            var key = random.Next(3) == 0 ? "not" + char.ToUpperInvariant(name[0]) + name[1..] : name;
            result[key] = Pick(random, vocabulary);
        }

        return result;
    }

    private static IstioCondition RandomCondition(Random random)
    {
        (string Key, string[] Vocabulary)[] keys =
        [
            ("request.auth.claims[groups]", s_groups), ("request.auth.claims[scope]", s_scopes), ("request.headers[x-token]", s_tokens),
            ("source.ip", s_ipBlocks), ("remote.ip", s_ipBlocks), ("source.namespace", s_namespaces), ("source.principal", s_principals),
            ("request.auth.principal", s_requestPrincipals), ("destination.port", s_ports), ("connection.sni", ["example.com"]),
            ("request.auth.audiences", ["orders", "or*"]),
        ];
        var (key, vocabulary) = keys[random.Next(keys.Length)];
        var values = Pick(random, vocabulary);
        return random.Next(3) == 0 ? new IstioCondition(key, [], values) : new IstioCondition(key, values, []);
    }

    private static ModelRequest RandomRequest(Random random)
    {
        var token = random.Next(5) == 0 ? ((string, string)?)null : s_tokensIssued[random.Next(s_tokensIssued.Length)];
        string? claims = null;
        if (token is { } t)
        {
            var groups = random.Next(3) switch { 0 => "[]", 1 => "[\"group1\",\"g2\"]", _ => "\"group10\"" };
            var scope = random.Next(4) switch { 0 => "\"read write\"", 1 => "[\"read\"]", 2 => "\"write\"", _ => "\"rw\"" };
            var scp = random.Next(3) == 0 ? ",\"scp\":\"read\"" : "";
            var aud = random.Next(2) == 0 ? "\"orders\"" : "[\"x\",\"orders2\"]";
            claims = $$"""{"iss":"{{t.Item1}}","sub":"{{t.Item2}}","groups":{{groups}},"scope":{{scope}},"aud":{{aud}}{{scp}}}""";
        }

        return new ModelRequest(
            Method: s_methods[random.Next(s_methods.Length)],
            Host: s_requestHosts[random.Next(s_requestHosts.Length)],
            Port: random.Next(2) == 0 ? 443 : 8080,
            Path: s_requestPaths[random.Next(s_requestPaths.Length)],
            Workload: random.Next(5) == 0 ? null : s_workloads[random.Next(s_workloads.Length)],
            SourceIp: s_addresses[random.Next(s_addresses.Length)],
            RemoteIp: s_addresses[random.Next(s_addresses.Length)],
            Token: token is { } tk ? (tk.Item1, tk.Item2) : null,
            Claims: claims,
            XToken: random.Next(3) switch { 0 => null, 1 => "admin", _ => "user" },
            Sni: null);
    }

    private static List<T> Repeat<T>(Random random, int min, int max, Func<T> make) =>
        [.. Enumerable.Range(0, min + random.Next(max - min + 1)).Select(_ => make())];

    private static string[] Pick(Random random, string[] vocabulary) =>
        [.. vocabulary.OrderBy(_ => random.Next()).Take(1 + random.Next(Math.Min(2, vocabulary.Length)))];

}
