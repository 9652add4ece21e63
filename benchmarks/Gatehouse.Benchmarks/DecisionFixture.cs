using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Runtime;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Benchmarks;

/// <summary>
/// A compiled snapshot equal to bench/gatehouse.yaml.in (issuer with RS256/ES256 keys from a JWKS file, one route
/// requiring scope <c>read</c>, one allow policy, a claim header), plus a signed RS256 token for it. Shared by the
/// token, decision and ext_authz benchmarks so that they measure the same path bench/run.sh loads.
/// </summary>
internal sealed class DecisionFixture : IAsyncDisposable
{
    private readonly string _directory;

    private DecisionFixture(string directory, GatehouseSnapshot snapshot, TokenAuthenticator tokens, string token)
    {
        _directory = directory;
        Snapshot = snapshot;
        Tokens = tokens;
        Engine = new DecisionEngine(tokens);
        Token = token;
        Candidates = [.. snapshot.Issuers.Values];
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["authorization"] = "Bearer " + token };
        Request = new AuthorizationRequest
        {
            Method = "GET",
            Host = "127.0.0.1",
            Port = 8090,
            RawPath = "/orders/42",
            GetHeader = name => headers.TryGetValue(name, out var value) ? value : null,
            SourceAddress = System.Net.IPAddress.Loopback,
            Listener = "edge",
        };
    }

    public GatehouseSnapshot Snapshot { get; }
    public TokenAuthenticator Tokens { get; }
    public DecisionEngine Engine { get; }
    public string Token { get; }
    public IReadOnlyList<IssuerRuntime> Candidates { get; }
    public AuthorizationRequest Request { get; }

    public static async Task<DecisionFixture> CreateAsync()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-bench-").FullName;
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var jwks = JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "RSA", kid = "rs-1", use = "sig", alg = "RS256", n = B64(p.Modulus!), e = B64(p.Exponent!) } },
        });
        await File.WriteAllTextAsync(Path.Combine(directory, "jwks.json"), jwks).ConfigureAwait(false);

        const string Yaml = """
            version: 1
            issuers:
              idp:
                issuer: http://127.0.0.1:4000
                jwks_file: jwks.json
                audiences: [https://api.example.test, https://api-es.example.test]
                algorithms: [RS256, ES256]
                clock_skew: 60s
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
            routes:
              - name: app
                match: { path_prefix: / }
                upstream: http://127.0.0.1:8080
                authentication: { issuers: [idp], require_token: true, required_scopes: [read] }
                policies: [read-only]
                claim_headers: { X-Auth-Client: client_id }
            policies:
              read-only:
                action: allow
                rules:
                  - to: { methods: [GET, HEAD] }
                    when: { scopes: [read] }
            """;
        var loaded = ConfigLoader.LoadYaml(Yaml, "bench.yaml", directory);
        if (!loaded.IsValid)
        {
            throw new InvalidOperationException("bench config invalid: " + string.Join("; ", loaded.Errors));
        }

        var compiler = new SnapshotCompiler(new HttpClient(), TimeProvider.System, NullLoggerFactory.Instance);
        var compilation = compiler.Compile(loaded.Config!, previous: null);
        foreach (var issuer in compilation.Started)
        {
            await issuer.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        for (var i = 0; i < 500 && !compilation.Snapshot.IsReady; i++)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }
        if (!compilation.Snapshot.IsReady)
        {
            throw new InvalidOperationException("keys never loaded");
        }

        var tokens = new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance);
        return new DecisionFixture(directory, compilation.Snapshot, tokens, MintRs256(rsa, Guid.NewGuid().ToString("N")));
    }

    /// <summary>A token shaped like oidc-provider's client_credentials access tokens.</summary>
    public static string MintRs256(RSA key, string jti)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"RS256","typ":"at+jwt","kid":"rs-1"}"""));
        var payload = B64(JsonSerializer.SerializeToUtf8Bytes(new
        {
            jti,
            sub = "bench-client",
            client_id = "bench-client",
            iss = "http://127.0.0.1:4000",
            aud = "https://api.example.test",
            scope = "read write",
            iat = now,
            nbf = now - 5,
            exp = now + 3600,
        }));
        var input = header + "." + payload;
        var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return input + "." + B64(signature);
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        foreach (var issuer in Snapshot.Issuers.Values)
        {
            await issuer.DisposeAsync().ConfigureAwait(false);
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
