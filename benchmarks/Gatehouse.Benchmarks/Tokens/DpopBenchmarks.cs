using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Runtime;
using Gatehouse.State;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Dpop;
using Microsoft.Extensions.Logging.Abstractions;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace Gatehouse.Benchmarks.Tokens;

/// <summary>
/// The DPoP proof check (RFC 9449 §4.3): the stateless validation alone (parse, jwk import, RFC 7638 thumbprint,
/// ath, htu normalization, signature) for ES256 and EdDSA proofs, and whole decisions — a bearer token on a
/// verified-token cache hit as the baseline, and the same path with a DPoP-bound token and its ES256 proof. In the
/// decision benchmark the replay cache is a store that accepts every key (the same proof is replayed on purpose so
/// that no signing happens inside the loop, and the listener's max_age is an hour so it stays fresh).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessShortConfig))]
public class DpopBenchmarks
{
    private const string Url = "https://api.example.com/orders/42";
    private string _directory = "";
    private GatehouseSnapshot _snapshot = null!;
    private DecisionEngine _engine = null!;
    private AuthorizationRequest _bearer = null!;
    private AuthorizationRequest _dpop = null!;
    private string _esProof = "";
    private string _edProof = "";
    private DpopExpectations _esExpected;
    private DpopExpectations _edExpected;
    private readonly DpopSettings _settings = DpopSettings.Create("edge", new DpopConfig());
    private ECDsa _esPublic = null!;
    private byte[] _esInput = [];
    private byte[] _esSignature = [];
    private byte[] _edPublic = [];
    private byte[] _edInput = [];
    private byte[] _edSignature = [];

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("gatehouse-bench-dpop-").FullName;
        using var issuerKey = RSA.Create(2048);
        var p = issuerKey.ExportParameters(false);
        File.WriteAllText(Path.Combine(_directory, "jwks.json"), JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "RSA", kid = "rs-1", use = "sig", alg = "RS256", n = B64(p.Modulus!), e = B64(p.Exponent!) } },
        }));
        var loaded = ConfigLoader.LoadYaml("""
            version: 1
            issuers:
              idp: { issuer: "http://127.0.0.1:4000", jwks_file: jwks.json, audiences: [https://api.example.test], algorithms: [RS256] }
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0", dpop: { max_age: 1h } }
            routes:
              - { name: app, match: { path_prefix: / }, upstream: "http://127.0.0.1:8080", authentication: { issuers: [idp], required_scopes: [read] } }
            """, "bench.yaml", _directory);
        var compilation = new SnapshotCompiler(new HttpClient(), TimeProvider.System, NullLoggerFactory.Instance).Compile(loaded.Config!, null);
        foreach (var issuer in compilation.Started)
        {
            issuer.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        _snapshot = compilation.Snapshot;
        _engine = new DecisionEngine(
            new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance),
            new DpopVerifier(TimeProvider.System, new AcceptEveryKey(), NullLoggerFactory.Instance));

        using var client = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = client.ExportParameters(false).Q;
        var esJwk = $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{B64(q.X!)}\",\"y\":\"{B64(q.Y!)}\"}}";
        var esToken = Mint(issuerKey, Thumbprint(esJwk));
        _esProof = Sign($"{{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{esJwk}}}", esToken,
            input => client.SignData(input, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        _esExpected = Expect(esToken, Thumbprint(esJwk));
        _esPublic = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = q });
        (_esInput, _esSignature) = Split(_esProof);

        var ed = new Ed25519PrivateKeyParameters(new SecureRandom());
        var edJwk = $"{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{B64(ed.GeneratePublicKey().GetEncoded())}\"}}";
        var edToken = Mint(issuerKey, Thumbprint(edJwk));
        _edProof = Sign($"{{\"typ\":\"dpop+jwt\",\"alg\":\"EdDSA\",\"jwk\":{edJwk}}}", edToken, input =>
        {
            var signer = new Ed25519Signer();
            signer.Init(true, ed);
            signer.BlockUpdate(input, 0, input.Length);
            return signer.GenerateSignature();
        });
        _edExpected = Expect(edToken, Thumbprint(edJwk));
        _edPublic = ed.GeneratePublicKey().GetEncoded();
        (_edInput, _edSignature) = Split(_edProof);

        _bearer = Request("Bearer " + Mint(issuerKey, null), null);
        _dpop = Request("DPoP " + esToken, _esProof);
        foreach (var (name, decision) in new[] { ("bearer", Decide(_bearer)), ("dpop", Decide(_dpop)) })
        {
            if (!decision.Allowed)
            {
                throw new InvalidOperationException($"{name} denied: {string.Join(",", decision.Reasons)}");
            }
        }

        if (!DpopProofValidator.Validate(_esProof, _esExpected, _settings).Ok || !DpopProofValidator.Validate(_edProof, _edExpected, _settings).Ok)
        {
            throw new InvalidOperationException("a benchmark proof does not validate");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var issuer in _snapshot.Issuers.Values)
        {
            issuer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public bool ProofValidateEs256() => DpopProofValidator.Validate(_esProof, _esExpected, _settings).Ok;

    [Benchmark]
    public bool ProofValidateEdDsa() => DpopProofValidator.Validate(_edProof, _edExpected, _settings).Ok;

    /// <summary>The signature verify alone (BCL ECDsa, key already imported): what a proof check costs at least.</summary>
    [Benchmark]
    public bool VerifyOnlyEs256() =>
        _esPublic.VerifyData(_esInput, _esSignature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>The Ed25519 verify alone, through the same verifier the proof check uses (BouncyCastle).</summary>
    [Benchmark]
    public bool VerifyOnlyEdDsa() => Gatehouse.Tokens.Jwt.Ed25519Verifier.Verify(_edPublic, _edInput, _edSignature);

    [Benchmark(Baseline = true)]
    public Decision DecideBearerCacheHit() => Decide(_bearer);

    [Benchmark]
    public Decision DecideDpopEs256CacheHit() => Decide(_dpop);

    private Decision Decide(AuthorizationRequest request)
    {
        var pending = _engine.DecideAsync(request, _snapshot);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    private static (byte[] Input, byte[] Signature) Split(string proof)
    {
        var dot = proof.LastIndexOf('.');
        return (Encoding.ASCII.GetBytes(proof[..dot]), Convert.FromBase64String(Pad(proof[(dot + 1)..])));
    }

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - (s.Length % 4)) % 4);
    }

    private static DpopExpectations Expect(string token, string jkt) =>
        new("GET", new DpopOrigin("https", "api.example.com", 443), "/orders/42", new PathNormalizationConfig(), token, jkt, DateTimeOffset.UtcNow);

    private static AuthorizationRequest Request(string authorization, string? proof)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["authorization"] = authorization };
        if (proof is not null)
        {
            headers["dpop"] = proof;
        }

        return new AuthorizationRequest
        {
            Method = "GET",
            Host = "api.example.com",
            Port = 443,
            Scheme = "https",
            RawPath = "/orders/42",
            GetHeader = name => headers.TryGetValue(name, out var value) ? value : null,
            SourceAddress = System.Net.IPAddress.Loopback,
            Listener = "edge",
        };
    }

    private static string Mint(RSA key, string? jkt)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["jti"] = Guid.NewGuid().ToString("N"), ["sub"] = "bench-client", ["client_id"] = "bench-client", ["iss"] = "http://127.0.0.1:4000",
            ["aud"] = "https://api.example.test", ["scope"] = "read write", ["iat"] = now, ["exp"] = now + 3600,
        };
        if (jkt is not null)
        {
            claims["cnf"] = new Dictionary<string, string> { ["jkt"] = jkt };
        }

        var input = B64(Encoding.UTF8.GetBytes("""{"alg":"RS256","typ":"at+jwt","kid":"rs-1"}""")) + "." + B64(JsonSerializer.SerializeToUtf8Bytes(claims));
        return input + "." + B64(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    // iat is now: the stateless benchmarks check it against the expectations' fixed Now, the decision benchmark's
    // listener accepts proofs an hour old.
    private static string Sign(string header, string token, Func<byte[], byte[]> sign)
    {
        var claims = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["jti"] = Guid.NewGuid().ToString("N"), ["htm"] = "GET", ["htu"] = Url, ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["ath"] = DpopProofValidator.AccessTokenHash(token),
        });
        var input = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(claims));
        return input + "." + B64(sign(Encoding.ASCII.GetBytes(input)));
    }

    private static string Thumbprint(string canonicalJwk) => B64(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalJwk)));

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// 3 warm-ups × 8 iterations, in process: on the shared 2-core machine BenchmarkDotNet's generated project did not
    /// build within its 120 s limit, so this benchmark runs without it (numbers are as noisy as the box).
    /// </summary>
    private sealed class InProcessShortConfig : ManualConfig
    {
        public InProcessShortConfig() =>
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(8).WithToolchain(InProcessEmitToolchain.Instance));
    }

    /// <summary>A replay cache that accepts every key, so the decision benchmark can repeat one proof.</summary>
    private sealed class AcceptEveryKey : IStateStore
    {
        public string Backend => "bench";

        public bool IsHealthy => true;

        public ValueTask<StateAddResult> TryAddAsync(string key, TimeSpan ttl, CancellationToken cancellationToken) => new(StateAddResult.Added);

        public ValueTask<StateValue> GetAsync(string key, CancellationToken cancellationToken) => new(StateValue.Miss);

        public ValueTask<bool> SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken) => new(false);

        public ValueTask<StateValue> GetOrAddAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken) => new(StateValue.Hit(value));
    }
}
