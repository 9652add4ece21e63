using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gatehouse.Configuration;
using Gatehouse.Identity.Profiles;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Jwks;
using Gatehouse.Tokens.Jwt;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Benchmarks.Tokens;

/// <summary>
/// Issue #8, distinct tokens: the cost of a token never seen before (a verified-token cache miss), and its parts.
/// <c>NewToken_*</c> is <see cref="TokenAuthenticator.AuthenticateAsync"/> over a pool of <see cref="PoolSize"/>
/// distinct pre-minted tokens shaped like the IdP's (bench/run.sh mints the same shape); the cache holds at most
/// <see cref="CacheCapacity"/> entries, so by the time a token comes round again it has long been trimmed: every
/// call is a miss (checked in setup). The split: fingerprint (the cache key), strict parse, signature verify as
/// production does it, the raw BCL verify over the same bytes as a floor, and the principal build.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class SlowPathBenchmarks
{
    private const int PoolSize = 12_000;
    private const int CacheCapacity = 1_024;

    private readonly HttpClient _http = new();
    private string _dir = "";
    private IssuerRuntime _issuer = null!;
    private IReadOnlyList<IssuerRuntime> _candidates = null!;
    private TokenAuthenticator _authenticator = null!;
    private RSA _rsa = null!;
    private ECDsa _ec = null!;
    private string[] _rs = [];
    private string[] _es = [];
    private byte[] _rsInput = [];
    private byte[] _rsSignature = [];
    private byte[] _esInput = [];
    private byte[] _esSignature = [];
    private SigningKey _rsKey = null!;
    private SigningKey _esKey = null!;
    private JsonElement _claims;
    private int _next;

    /// <summary>
    /// In-process, short: the pool takes ~10 s to mint per process, and an out-of-process build of the benchmark
    /// copy alone outlasts BenchmarkDotNet's 2-minute build timeout on the shared box.
    /// </summary>
    private sealed class Config : ManualConfig
    {
        public Config() => AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(8));
    }

    [GlobalSetup(Target = nameof(NewToken_RS256))]
    public void SetupRs() => SetupAsync(PoolSize, 16, report: true).GetAwaiter().GetResult();

    [GlobalSetup(Target = nameof(NewToken_ES256))]
    public void SetupEs() => SetupAsync(16, PoolSize, report: false).GetAwaiter().GetResult();

    [GlobalSetup(Targets = [nameof(Fingerprint_RS256), nameof(Parse_RS256), nameof(Verify_RS256), nameof(Verify_ES256), nameof(RawVerify_RS256), nameof(RawVerify_ES256), nameof(Principal_Build)])]
    public void SetupParts() => SetupAsync(256, 16, report: false).GetAwaiter().GetResult();

    private async Task SetupAsync(int rsCount, int esCount, bool report)
    {
        _rsa = RSA.Create(2048);
        _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rp = _rsa.ExportParameters(false);
        var ep = _ec.ExportParameters(false);
        var jwks = $$"""{"keys":[{"kty":"RSA","kid":"rs-1","use":"sig","alg":"RS256","n":"{{B64(rp.Modulus!)}}","e":"{{B64(rp.Exponent!)}}"},{"kty":"EC","kid":"es-1","use":"sig","alg":"ES256","crv":"P-256","x":"{{B64(ep.Q.X!)}}","y":"{{B64(ep.Q.Y!)}}"}]}""";
        _dir = Directory.CreateTempSubdirectory("gh-slowpath-").FullName;
        var file = Path.Combine(_dir, "jwks.json");
        await File.WriteAllTextAsync(file, jwks);
        var config = new IssuerConfig
        {
            Name = "idp",
            Issuer = "http://127.0.0.1:4000",
            JwksFile = file,
            Audiences = ["https://api.example.test", "https://api-es.example.test"],
            Algorithms = ["RS256", "ES256"],
            ClockSkew = TimeSpan.FromSeconds(60),
        };
        _issuer = new IssuerRuntime(config, _http, TimeProvider.System, NullLoggerFactory.Instance);
        await _issuer.StartAsync(CancellationToken.None);
        _candidates = [_issuer];
        _authenticator = new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance, CacheCapacity);

        // Note: RSA signing is ~1 ms per token; both cores mint the pool, and only the benchmark that needs it.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _rs = new string[rsCount];
        _es = new string[esCount];
        Parallel.For(0, rsCount, i => _rs[i] = Mint("RS256", "rs-1", now, i, d => _rsa.SignData(d, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)));
        Parallel.For(0, esCount, i => _es[i] = Mint("ES256", "es-1", now, i, d => _ec.SignData(d, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)));

        (_rsInput, _rsSignature) = Split(_rs[0]);
        (_esInput, _esSignature) = Split(_es[0]);
        _issuer.Keys!.Find("rs-1", "RS256", out var rsKey);
        _issuer.Keys!.Find("es-1", "ES256", out var esKey);
        _rsKey = rsKey!;
        _esKey = esKey!;
        _claims = JsonDocument.Parse(Payload(_rs[0])).RootElement.Clone();

        // Every pooled token validates, and a full cycle through a pool leaves the cache far smaller than the
        // pool: the next cycle meets only evicted tokens.
        foreach (var token in _rs.Concat(_es))
        {
            Check(await _authenticator.AuthenticateAsync(token, _candidates, default));
        }

        if (_authenticator.VerifiedCacheCount > CacheCapacity + 1)
        {
            throw new InvalidOperationException($"cache holds {_authenticator.VerifiedCacheCount} entries; the benchmark would measure hits");
        }

        if (report)
        {
            await ReportRetainedAsync();
        }
    }

    /// <summary>
    /// Bytes each verified-token cache entry keeps alive (token, facts, claims, principal, cache node), measured as
    /// the managed-heap growth while an uncapped authenticator takes in 10,000 new RS256 tokens and builds each
    /// one's principal as the decision engine does. Printed to the log (BenchmarkDotNet has no column for it).
    /// </summary>
    private async Task ReportRetainedAsync()
    {
        const int n = 10_000;
        var authenticator = new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance, 2 * n);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < n; i++)
        {
            var result = await authenticator.AuthenticateAsync(_rs[i], _candidates, default);
            _ = result.Token!.GetPrincipal(static t => ClaimProfiles.CreatePrincipal(t.Claims, t.Issuer.Config, workload: null));
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"// retained per verified-token cache entry (with principal): {(after - before) / n} B over {authenticator.VerifiedCacheCount} entries");
        GC.KeepAlive(authenticator);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _issuer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _http.Dispose();
        _rsa.Dispose();
        _ec.Dispose();
        Directory.Delete(_dir, true);
    }

    /// <summary>The whole miss: fingerprint, parse, key lookup, verify, lifetime/audience, cache insert.</summary>
    [Benchmark(Baseline = true)]
    public bool NewToken_RS256() => _authenticator.AuthenticateAsync(NextRs(), _candidates, default).Result.Succeeded;

    [Benchmark]
    public bool NewToken_ES256() => _authenticator.AuthenticateAsync(NextEs(), _candidates, default).Result.Succeeded;

    /// <summary>SHA-256 of the token: the cache key, computed on hits and misses alike.</summary>
    [Benchmark]
    public int Fingerprint_RS256() => TokenFingerprint.ComputeHash(NextRs()).GetHashCode();

    /// <summary>The strict pre-parse alone (canonical base64url, strict JSON, claims).</summary>
    [Benchmark]
    public bool Parse_RS256()
    {
        var token = NextRs();
        JwtParser.CountDots(token, out var first, out var second);
        return JwtParser.Parse(token, first, second).Ok;
    }

    /// <summary>Signature verify as the authenticator does it, over a token's signing input.</summary>
    [Benchmark]
    public bool Verify_RS256() => TokenAuthenticator.VerifySignature(_rs[0], _rs[0].LastIndexOf('.'), "RS256", _rsSignature, _rsKey);

    [Benchmark]
    public bool Verify_ES256() => TokenAuthenticator.VerifySignature(_es[0], _es[0].LastIndexOf('.'), "ES256", _esSignature, _esKey);

    /// <summary>The floor: BCL RSA verify over bytes already in hand (no encoding, no provider lookup).</summary>
    [Benchmark]
    public bool RawVerify_RS256() => _rsa.VerifyData(_rsInput, _rsSignature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    [Benchmark]
    public bool RawVerify_ES256() => _ec.VerifyData(_esInput, _esSignature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>The principal built from a token's claims (once per verified token; cached on it afterwards).</summary>
    [Benchmark]
    public int Principal_Build() => ClaimProfiles.CreatePrincipal(_claims, _issuer.Config, workload: null).Scopes.Count;

    private string NextRs() => _rs[(uint)Interlocked.Increment(ref _next) % (uint)_rs.Length];

    private string NextEs() => _es[(uint)Interlocked.Increment(ref _next) % (uint)_es.Length];

    private static void Check(TokenResult r)
    {
        if (!r.Succeeded)
        {
            throw new InvalidOperationException("benchmark token rejected: " + r);
        }
    }

    /// <summary>A token shaped like oidc-provider's client_credentials access tokens (as DecisionFixture mints).</summary>
    private static string Mint(string alg, string kid, long now, int i, Func<byte[], byte[]> sign)
    {
        var header = B64(Encoding.UTF8.GetBytes($$"""{"alg":"{{alg}}","typ":"at+jwt","kid":"{{kid}}"}"""));
        var payload = B64(JsonSerializer.SerializeToUtf8Bytes(new
        {
            jti = $"{i:x8}{Guid.NewGuid():N}",
            sub = "bench-client",
            client_id = "bench-client",
            iss = "http://127.0.0.1:4000",
            aud = alg == "RS256" ? "https://api.example.test" : "https://api-es.example.test",
            scope = "read write",
            iat = now,
            nbf = now - 5,
            exp = now + 3600,
        }));
        var input = header + "." + payload;
        return input + "." + B64(sign(Encoding.ASCII.GetBytes(input)));
    }

    private static (byte[] Input, byte[] Signature) Split(string token)
    {
        var dot = token.LastIndexOf('.');
        return (Encoding.ASCII.GetBytes(token[..dot]), Base64UrlStrict.Decode(token.AsSpan(dot + 1))!);
    }

    private static byte[] Payload(string token) => Base64UrlStrict.Decode(token.Split('.')[1])!;

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
