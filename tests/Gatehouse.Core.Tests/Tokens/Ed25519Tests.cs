using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Model;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Dpop;
using Gatehouse.Tokens.Jwks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace Gatehouse.Tests.Tokens;

/// <summary>EdDSA (Ed25519, RFC 8037) for access tokens (JWKS OKP keys) and DPoP proofs, with the RFC 8037 vectors.</summary>
public sealed class Ed25519Tests
{
    // RFC 8037 Appendix A.1/A.4: the example public key and the JWS it verifies; A.3: its RFC 7638 thumbprint.
    private const string VectorX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    private const string VectorJws = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    private const string VectorThumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    private static KeySet Jwks(string x, string kid = "ed-1") =>
        JwksParser.Parse(Encoding.UTF8.GetBytes($"{{\"keys\":[{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{x}\",\"kid\":\"{kid}\"}}]}}"), (_, why) => Assert.Fail(why), out var error)
        ?? throw new InvalidOperationException(error);

    [Fact]
    public void Rfc8037_A4_Signature_VerifiesWithTheJwksKey_AndATamperedOneDoesNot()
    {
        var key = Assert.Single(Jwks(VectorX).Keys);
        var dot = VectorJws.LastIndexOf('.');
        var signature = Base64UrlStrictDecode(VectorJws[(dot + 1)..]);
        var input = Encoding.ASCII.GetBytes(VectorJws[..dot]);

        Assert.True(key.Fits("EdDSA"));
        Assert.False(key.Fits("ES256"));
        Assert.True(key.Verify("EdDSA", input, signature));
        input[^1] ^= 1;
        Assert.False(key.Verify("EdDSA", input, signature));
    }

    [Fact]
    public void OkpKeysOfOtherCurves_AreSkipped()
    {
        var skipped = new List<string>();
        var set = JwksParser.Parse("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}"u8, (_, why) => skipped.Add(why), out _);

        Assert.Empty(set!.Keys);
        Assert.Contains("Ed25519 only", Assert.Single(skipped), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EdDsaAccessToken_IsValidated_OnlyWhenTheIssuerAllowsEdDsa()
    {
        var (privateKey, x) = NewKey();
        var dir = Gatehouse.Testing.TestTemp.CreateDirectory("ed25519-");
        var jwks = Path.Combine(dir, "jwks.json");
        await File.WriteAllTextAsync(jwks, $"{{\"keys\":[{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{x}\",\"kid\":\"ed-1\"}}]}}");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        using var http = new HttpClient();
        var claims = TestTokens.Claims(time.GetUtcNow());
        var token = Sign(privateKey, "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\",\"typ\":\"at+jwt\"}", claims.ToJsonString());
        try
        {
            foreach (var (algorithms, expected) in new[] { (new[] { "EdDSA" }, (string?)null), (["RS256"], ReasonCodes.TokenAlgorithmNotAllowed) })
            {
                await using var issuer = new IssuerRuntime(
                    new IssuerConfig { Name = "ed", Issuer = TestTokens.Issuer, JwksFile = jwks, Audiences = [TestTokens.Audience], Algorithms = algorithms },
                    http, time, NullLoggerFactory.Instance);
                await issuer.StartAsync(CancellationToken.None);
                var auth = new TokenAuthenticator(time, NullLoggerFactory.Instance);

                var result = await auth.AuthenticateAsync(token, [issuer], default);
                var forged = await auth.AuthenticateAsync(token[..^4] + (token[^4] == 'A' ? "B" : "A") + token[^3..], [issuer], default);

                Assert.Equal(expected, result.Reason);
                Assert.False(forged.Succeeded);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EdDsaDpopProof_Verifies_WithTheRfc7638ThumbprintOfRfc8037()
    {
        // The RFC 8037 A.3 thumbprint, computed by Gatehouse from the A.1 key.
        var (privateKey, x) = NewKey();
        const string token = "at";
        var now = new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
        string Proof(string jwkX) => Sign(
            privateKey,
            $"{{\"typ\":\"dpop+jwt\",\"alg\":\"EdDSA\",\"jwk\":{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{jwkX}\"}}}}",
            new JsonObject { ["jti"] = "j", ["htm"] = "GET", ["htu"] = "https://a.example/p", ["iat"] = now.ToUnixTimeSeconds(), ["ath"] = DpopProofValidator.AccessTokenHash(token) }.ToJsonString());
        DpopExpectations Expect(string? jkt) => new("GET", new DpopOrigin("https", "a.example", 443), "/p", new PathNormalizationConfig(), token, jkt, now);
        var settings = DpopSettings.Create("edge", new DpopConfig());

        var vector = DpopProofValidator.Validate(Proof(VectorX), Expect(VectorThumbprint), settings);
        var own = DpopProofValidator.Validate(Proof(x), Expect(Thumbprint(x)), settings);

        // The A.1 key did not sign this proof: the thumbprint matches (binding passes), the signature does not.
        Assert.Equal("dpop.proof_invalid:signature", vector.Reason);
        Assert.True(own.Ok, own.Reason);
        Assert.Equal(Thumbprint(x), own.Thumbprint);
    }

    private static string Thumbprint(string x) =>
        TestKey.B64(SHA256.HashData(Encoding.UTF8.GetBytes($"{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{x}\"}}")));

    private static (Ed25519PrivateKeyParameters Key, string X) NewKey()
    {
        var key = new Ed25519PrivateKeyParameters(new SecureRandom());
        return (key, TestKey.B64(key.GeneratePublicKey().GetEncoded()));
    }

    private static string Sign(Ed25519PrivateKeyParameters key, string headerJson, string payloadJson)
    {
        var input = TestKey.B64(headerJson) + "." + TestKey.B64(payloadJson);
        var signer = new Ed25519Signer();
        signer.Init(true, key);
        var bytes = Encoding.ASCII.GetBytes(input);
        signer.BlockUpdate(bytes, 0, bytes.Length);
        return input + "." + TestKey.B64(signer.GenerateSignature());
    }

    private static byte[] Base64UrlStrictDecode(string s) =>
        Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (s.Length % 4)) % 4));
}
