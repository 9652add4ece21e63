using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

public sealed class ConfigLoaderHappyPathTests : IDisposable
{
    private static readonly Dictionary<string, string> s_noEnvironment = [];
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private ConfigLoadResult Load(string yaml, IReadOnlyDictionary<string, string>? environment = null) =>
        ConfigLoader.LoadYaml(yaml, "test.yaml", _files.Directory, environment ?? s_noEnvironment);

    private static void AssertValid(ConfigLoadResult result) =>
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));

    [Fact]
    public void LoadYaml_DesignSketch_Binds()
    {
        var result = Load("""
            version: 1
            issuers:
              corp:
                issuer: https://idp.example.com/
                discovery: true
                audiences: [orders]
                algorithms: [RS256, ES256]
                clock_skew: 30s
                introspection: { endpoint: https://idp.example.com/introspect, client_id: gatehouse, client_secret_file: secret.txt }
                profile: keycloak
            listeners:
              - { name: edge, mode: gateway, address: 127.0.0.1:8080 }
            routes:
              - name: orders
                match: { hosts: [api.example.com], path_prefix: /orders }
                upstream: http://127.0.0.1:5001
                authentication: { issuers: [corp], require_token: true }
                policies: [orders-read]
            policies:
              orders-read:
                action: allow
                rules:
                  - from: { principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] }
                    to: { methods: [GET], paths: ["/orders/*"] }
                    when: { scopes: [orders.read], "claims.realm_access.roles": [clerk] }
            audit: { path: audit.jsonl }
            """);

        AssertValid(result);
        var config = result.Config!;
        var corp = config.Issuers["corp"];
        Assert.Equal("corp", corp.Name);
        Assert.Equal("https://idp.example.com/", corp.Issuer);
        Assert.True(corp.Discovery);
        Assert.Equal(["orders"], corp.Audiences);
        Assert.Equal(["RS256", "ES256"], corp.Algorithms);
        Assert.Equal(TimeSpan.FromSeconds(30), corp.ClockSkew);
        Assert.Equal("keycloak", corp.Profile);
        Assert.Equal("https://idp.example.com/introspect", corp.Introspection!.Endpoint);
        Assert.Equal("gatehouse", corp.Introspection.ClientId);
        Assert.Equal(_files.Path("secret.txt"), corp.Introspection.ClientSecretFile);

        var edge = Assert.Single(config.Listeners);
        Assert.Equal(("edge", ListenerMode.Gateway, "127.0.0.1:8080"), (edge.Name, edge.Mode, edge.Address));

        var route = Assert.Single(config.Routes);
        Assert.Equal("orders", route.Name);
        Assert.Equal(["api.example.com"], route.Match.Hosts);
        Assert.Equal("/orders", route.Match.PathPrefix);
        Assert.Equal("http://127.0.0.1:5001", route.Upstream);
        Assert.Equal(["corp"], route.Authentication.Issuers);
        Assert.True(route.Authentication.RequireToken);
        Assert.Equal(["orders-read"], route.Policies);

        var policy = config.Policies["orders-read"];
        Assert.Equal("orders-read", policy.Name);
        Assert.Equal(PolicyAction.Allow, policy.Action);
        var rule = Assert.Single(policy.Rules);
        Assert.Equal(["spiffe://cluster.local/ns/shop/sa/checkout"], rule.From!.Principals);
        Assert.Equal(["GET"], rule.To!.Methods);
        Assert.Equal(["/orders/*"], rule.To.Paths);
        Assert.Collection(rule.When,
            c => Assert.Equal(("scopes", false, "orders.read"), (c.Key, c.Negated, Assert.Single(c.Values))),
            c => Assert.Equal(("claims.realm_access.roles", false, "clerk"), (c.Key, c.Negated, Assert.Single(c.Values))));

        Assert.Equal(_files.Path("audit.jsonl"), config.Audit.Path);
        Assert.Equal([_files.Path("secret.txt")], result.ReferencedFiles);
    }

    [Fact]
    public void LoadFile_Sample_IsValid()
    {
        var sample = Path.Combine(ConfigTestFiles.RepositoryRoot(), "samples", "gateway.yaml");

        var result = ConfigLoader.LoadFile(sample, s_noEnvironment);

        AssertValid(result);
        Assert.Equal(Path.GetFullPath(sample), result.Config!.SourcePath);
        Assert.Contains(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(sample))!, "jwks.json"), result.ReferencedFiles);
    }

    [Fact]
    public void SampleJwks_HoldsARealRsaPublicKey()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ConfigTestFiles.RepositoryRoot(), "samples", "jwks.json")));
        var key = Assert.Single(document.RootElement.GetProperty("keys").EnumerateArray().ToList());

        Assert.Equal("RSA", key.GetProperty("kty").GetString());
        Assert.False(key.TryGetProperty("d", out _), "the sample must hold a public key only");
        using var rsa = RSA.Create();
        rsa.ImportParameters(new RSAParameters
        {
            Modulus = Base64UrlDecode(key.GetProperty("n").GetString()!),
            Exponent = Base64UrlDecode(key.GetProperty("e").GetString()!),
        });
        Assert.Equal(2048, rsa.KeySize);
    }

    [Fact]
    public void ConfigError_ToString_IsCheckLineFormat() =>
        Assert.Equal("gateway.yaml:3:5: issuers.corp.audiences: required", new ConfigError("gateway.yaml", 3, 5, "issuers.corp.audiences", "required").ToString());

    private static byte[] Base64UrlDecode(string value)
    {
        var base64 = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '='));
    }
}
