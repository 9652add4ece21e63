using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Benchmarks.Tokens;

/// <summary>
/// The token hot path. <c>CacheHit_*</c> must report 0 B allocated: a repeat token costs one SHA-256 of the token
/// and one dictionary lookup. <c>FullValidation_*</c> bypasses the cache (capacity-1 cache, alternating tokens) to
/// show the cost of the strict pre-parse plus the signature check.
/// </summary>
[MemoryDiagnoser]
public class TokenAuthenticatorBenchmarks
{
    private readonly HttpClient _http = new();
    private string _dir = "";
    private IssuerRuntime _issuer = null!;
    private IReadOnlyList<IssuerRuntime> _candidates = null!;
    private TokenAuthenticator _authenticator = null!;
    private string _rsToken = "";
    private string _esToken = "";
    private RSA _rsa = null!;
    private ECDsa _ec = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _rsa = RSA.Create(2048);
        _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rp = _rsa.ExportParameters(false);
        var ep = _ec.ExportParameters(false);
        var jwks = $$"""{"keys":[{"kty":"RSA","kid":"r1","n":"{{B64(rp.Modulus!)}}","e":"{{B64(rp.Exponent!)}}"},{"kty":"EC","kid":"e1","crv":"P-256","x":"{{B64(ep.Q.X!)}}","y":"{{B64(ep.Q.Y!)}}"}]}""";
        _dir = Directory.CreateTempSubdirectory("gh-bench-").FullName;
        var file = Path.Combine(_dir, "jwks.json");
        await File.WriteAllTextAsync(file, jwks);
        _issuer = new IssuerRuntime(
            new IssuerConfig { Name = "bench", Issuer = "https://idp.bench/", JwksFile = file, Audiences = ["orders"], Algorithms = ["RS256", "ES256"] },
            _http, TimeProvider.System, NullLoggerFactory.Instance);
        await _issuer.StartAsync(CancellationToken.None);
        _candidates = [_issuer];
        _authenticator = new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance);
        var exp = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds();
        var claims = $$"""{"iss":"https://idp.bench/","sub":"alice","aud":"orders","exp":{{exp}},"iat":{{exp - 7200}},"scope":"orders.read orders.write","jti":"0123456789abcdef"}""";
        _rsToken = Sign("""{"alg":"RS256","kid":"r1","typ":"at+jwt"}""", claims, d => _rsa.SignData(d, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        _esToken = Sign("""{"alg":"ES256","kid":"e1","typ":"at+jwt"}""", claims, d => _ec.SignData(d, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        Check(await _authenticator.AuthenticateAsync(_rsToken, _candidates, default));
        Check(await _authenticator.AuthenticateAsync(_esToken, _candidates, default));
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _issuer.DisposeAsync();
        _http.Dispose();
        Directory.Delete(_dir, true);
    }

    [Benchmark(Baseline = true)]
    public bool CacheHit_RS256() => _authenticator.AuthenticateAsync(_rsToken, _candidates, default).Result.Succeeded;

    [Benchmark]
    public bool CacheHit_ES256() => _authenticator.AuthenticateAsync(_esToken, _candidates, default).Result.Succeeded;

    [Benchmark]
    public string Fingerprint() => TokenFingerprint.Compute(_rsToken);

    [Benchmark]
    public async Task<bool> FullValidation_RS256() => (await Fresh().AuthenticateAsync(_rsToken, _candidates, default)).Succeeded;

    [Benchmark]
    public async Task<bool> FullValidation_ES256() => (await Fresh().AuthenticateAsync(_esToken, _candidates, default)).Succeeded;

    // Note: a new authenticator has an empty cache; its construction cost is part of the miss measurement.
    private static TokenAuthenticator Fresh() => new(TimeProvider.System, NullLoggerFactory.Instance, 16);

    private static void Check(TokenResult r)
    {
        if (!r.Succeeded)
        {
            throw new InvalidOperationException("benchmark token rejected: " + r);
        }
    }

    private static string Sign(string header, string claims, Func<byte[], byte[]> sign)
    {
        var input = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(claims));
        return input + "." + B64(sign(Encoding.ASCII.GetBytes(input)));
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
