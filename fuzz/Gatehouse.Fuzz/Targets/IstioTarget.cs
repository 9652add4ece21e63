using System.Globalization;
using System.Text;
using Gatehouse.Cli.Import.Istio;
using Gatehouse.Policy;
using Gatehouse.Tests.Import.Istio;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// The Istio importer (<see cref="IstioImporter"/>, <c>gatehouse import istio</c>). The first input byte picks the
/// mode. Odd: the rest is a manifest (any YAML); invariants: never throws; every warning is located (it starts with
/// the file name) and every required edit names a file or a config key to edit; every imported policy compiles.
/// Even: the rest drives the choice of one AuthorizationPolicy rule (ALLOW or DENY, sources, operations, conditions
/// from vocabularies that exercise every translation) and of requests; invariant: the import never widens — an imported
/// ALLOW rule matches only requests the Istio rule matches, and an imported DENY rule matches every request the Istio
/// rule matches. Istio's side is the model of
/// tests/Gatehouse.Tests/Import/Istio/IstioModel.cs (written from Istio's reference, not from the importer).
/// </summary>
internal sealed class IstioTarget : FuzzTarget
{
    // Vocabularies (as IstioImportPropertyTests uses them): exact values, globs, trust domains, templates, ports,
    // addresses, space-delimited claims, slashes in subjects.
    private static readonly string[] Principals = ["cluster.local/ns/default/sa/sleep", "cluster.local/ns/foo/*", "*/ns/default/sa/sleep", "*", "other.td/ns/default/sa/sleep", "*sleep", "cluster.local/ns/foo/sa/*"];
    private static readonly string[] ServiceAccounts = ["default/sleep", "sleep", "foo/httpbin"];
    private static readonly string[] Namespaces = ["default", "foo", "f*", "*", "d*t"];
    private static readonly string[] IpBlocks = ["10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "10.1.0.0/16"];
    private static readonly string[] RequestPrincipals = ["testing@secure.istio.io/testing@secure.istio.io", "*", "*/alice", "https://idp/*", "https://idp/x/alice", "https://idp*", "*alice"];
    private static readonly string[] Hosts = ["example.com", "*.example.com", "example.com:8080", "*", "API.example.com", "example.com."];
    private static readonly string[] Ports = ["8080", "443"];
    private static readonly string[] Methods = ["GET", "POST"];
    private static readonly string[] Paths = ["/info", "/info*", "/admin/*", "*.js", "/v1/{*}/items", "/v1/{**}", "*", "/a*b"];
    private static readonly string[] Groups = ["group1", "group*", "*"];
    private static readonly string[] Scopes = ["read", "write", "read write", "r*"];
    private static readonly string[] Tokens = ["admin", "*", "adm*"];

    private static readonly (string Name, string[] Vocabulary)[] SourceFields =
        [("principals", Principals), ("serviceAccounts", ServiceAccounts), ("namespaces", Namespaces), ("ipBlocks", IpBlocks), ("remoteIpBlocks", IpBlocks), ("requestPrincipals", RequestPrincipals)];

    private static readonly (string Name, string[] Vocabulary)[] OperationFields = [("hosts", Hosts), ("ports", Ports), ("methods", Methods), ("paths", Paths)];

    private static readonly (string Key, string[] Vocabulary)[] ConditionKeys =
    [
        ("request.auth.claims[groups]", Groups), ("request.auth.claims[scope]", Scopes), ("request.headers[x-token]", Tokens),
        ("source.ip", IpBlocks), ("remote.ip", IpBlocks), ("source.namespace", Namespaces), ("source.principal", Principals),
        ("request.auth.principal", RequestPrincipals), ("destination.port", Ports), ("connection.sni", ["example.com"]),
        ("request.auth.audiences", ["orders", "or*"]),
    ];

    private static readonly string[] Workloads = ["spiffe://cluster.local/ns/default/sa/sleep", "spiffe://cluster.local/ns/foo/sa/httpbin", "spiffe://other.td/ns/default/sa/sleep", "spiffe://cluster.local/ns/dev/sa/x", "spiffe://cluster.local/ns/foo/sa/sleep"];
    private static readonly string[] Addresses = ["10.1.2.3", "10.2.0.1", "192.168.1.1", "8.8.8.8"];
    private static readonly (string Iss, string Sub)[] Issued = [("testing@secure.istio.io", "testing@secure.istio.io"), ("https://idp", "x/alice"), ("https://idp/x", "alice"), ("https://idp", "alice"), ("https://idp2", "bob")];
    private static readonly string[] RequestHosts = ["example.com", "api.example.com", "other.org"];
    private static readonly string[] RequestPaths = ["/info", "/info/x", "/admin/x", "/app.js", "/v1/a/items", "/v1/a/b", "/data", "/a-b"];

    /// <summary>Requests checked per generated rule.</summary>
    private const int RequestsPerRule = 48;

    public override string Name => "istio";

    public override string Description => "Istio import: never throws, warnings located, policies compile; an imported ALLOW never matches more (DENY never less) than Istio";

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        if ((input[0] & 1) == 1)
        {
            ImportManifest(Encoding.UTF8.GetString(input[1..]));
        }
        else
        {
            NeverWidens(new Choices(input[1..].ToArray()));
        }
    }

    private static void ImportManifest(string yaml)
    {
        var result = IstioImporter.Import([("fuzz.yaml", yaml)]);
        foreach (var warning in result.Warnings)
        {
            Check(warning.StartsWith("fuzz.yaml", StringComparison.Ordinal), $"warning without a location: {warning}");
        }

        // A required edit names what to edit: the source, a key of the generated config, or a file it wrote.
        foreach (var edit in result.RequiredEdits)
        {
            Check(edit.StartsWith("fuzz.yaml", StringComparison.Ordinal) || edit.StartsWith("issuers.", StringComparison.Ordinal)
                || result.Files.Any(f => edit.StartsWith(f.Name + ":", StringComparison.Ordinal)), $"required edit naming nothing to edit: {edit}");
        }

        var compiled = CompiledPolicySet.Compile(result.Policies);
        Check(compiled.CompileErrors.Count == 0, $"imported policies do not compile: {string.Join("; ", compiled.CompileErrors)}");
    }

    private static void NeverWidens(Choices choices)
    {
        var action = choices.Next(3) == 0 ? "DENY" : "ALLOW";
        var rule = new IstioRule(
            choices.Repeat(0, 2, () => Fields(choices, SourceFields)),
            choices.Repeat(0, 2, () => Fields(choices, OperationFields)),
            choices.Repeat(0, 2, () =>
            {
                var (key, vocabulary) = ConditionKeys[choices.Next(ConditionKeys.Length)];
                var values = choices.Pick(vocabulary);
                return choices.Next(3) == 0 ? new IstioCondition(key, [], values) : new IstioCondition(key, values, []);
            }));
        var yaml = IstioManifest.Render(action, rule);
        var import = IstioImporter.Import([("p.yaml", yaml)]);
        Check(import.Policies.Count == 1, $"one rule imported as {import.Policies.Count} policies:\n{yaml}");
        var compiled = CompiledPolicySet.Compile(import.Policies);
        Check(compiled.CompileErrors.Count == 0, $"the imported policy does not compile: {string.Join("; ", compiled.CompileErrors)}\n{yaml}");
        for (var i = 0; i < RequestsPerRule; i++)
        {
            var request = Request(choices);
            var istio = IstioModel.Matches(rule, request, "foo");
            var allowed = compiled.Evaluate(request.ToInput()).Allowed;
            var gatehouse = action == "ALLOW" ? allowed : !allowed;
            Check(action == "ALLOW" ? !gatehouse || istio : !istio || gatehouse,
                $"{action} widened: Istio {(istio ? "matches" : "does not match")}, Gatehouse {(gatehouse ? "matches" : "does not")}\n{yaml}\nrequest: {request}");
        }
    }

    private static Dictionary<string, string[]> Fields(Choices choices, (string Name, string[] Vocabulary)[] fields)
    {
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var n = 1 + choices.Next(2); n > 0; n--)
        {
            var (name, vocabulary) = fields[choices.Next(fields.Length)];
            var key = choices.Next(3) == 0 ? "not" + char.ToUpperInvariant(name[0]) + name[1..] : name;
            result[key] = choices.Pick(vocabulary);
        }

        return result;
    }

    /// <summary>A request from the input's choices (then from the generator they seed).</summary>
    private static ModelRequest Request(Choices choices)
    {
        int Next(int n) => choices.Next(n);
        var token = Next(5) == 0 ? ((string, string)?)null : Issued[Next(Issued.Length)];
        string? claims = null;
        if (token is { } t)
        {
            var groups = Next(3) switch { 0 => "[]", 1 => "[\"group1\",\"g2\"]", _ => "\"group10\"" };
            var scope = Next(4) switch { 0 => "\"read write\"", 1 => "[\"read\"]", 2 => "\"write\"", _ => "\"rw\"" };
            var scp = Next(3) == 0 ? ",\"scp\":\"read\"" : "";
            var aud = Next(2) == 0 ? "\"orders\"" : "[\"x\",\"orders2\"]";
            claims = $$"""{"iss":"{{t.Item1}}","sub":"{{t.Item2}}","groups":{{groups}},"scope":{{scope}},"aud":{{aud}}{{scp}}}""";
        }

        return new ModelRequest(
            Method: Methods[Next(Methods.Length)],
            Host: RequestHosts[Next(RequestHosts.Length)],
            Port: Next(2) == 0 ? 443 : 8080,
            Path: RequestPaths[Next(RequestPaths.Length)],
            Workload: Next(5) == 0 ? null : Workloads[Next(Workloads.Length)],
            SourceIp: Addresses[Next(Addresses.Length)],
            RemoteIp: Addresses[Next(Addresses.Length)],
            Token: token is { } tk ? (tk.Item1, tk.Item2) : null,
            Claims: claims,
            XToken: Next(3) switch { 0 => null, 1 => "admin", _ => "user" },
            Sni: null);
    }

    /// <summary>
    /// Choices read from the input, one byte each, so AFL's mutations steer them; once the input runs out, from a
    /// generator seeded with the input's hash (the same input always makes the same choices).
    /// </summary>
    private sealed class Choices(byte[] bytes)
    {
        private readonly Random _rest = new(Fnv(bytes));
        private int _next;

        public int Next(int n) => _next < bytes.Length ? bytes[_next++] % n : _rest.Next(n);

        private static int Fnv(byte[] data)
        {
            var hash = 2166136261u;
            foreach (var b in data)
            {
                hash = (hash ^ b) * 16777619u;
            }

            return (int)(hash & 0x7fffffff);
        }

        public List<T> Repeat<T>(int min, int max, Func<T> make)
        {
            var count = min + Next(max - min + 1);
            var list = new List<T>(count);
            for (var i = 0; i < count; i++)
            {
                list.Add(make());
            }

            return list;
        }

        public string[] Pick(string[] vocabulary)
        {
            var first = Next(vocabulary.Length);
            return Next(2) == 0 || vocabulary.Length == 1 ? [vocabulary[first]] : [vocabulary[first], vocabulary[(first + 1 + Next(vocabulary.Length - 1)) % vocabulary.Length]];
        }
    }
}
