using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Model;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Tokens.Dpop;

namespace Gatehouse.Tests.Tokens.Dpop;

/// <summary>Every check of RFC 9449 §4.3, positive and negative, each with its own reason (no network, manual clock).</summary>
public sealed class DpopProofValidatorTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly Lazy<TestKey> s_ec = new(() => TestKey.Ec("client-ec"));
    private static readonly Lazy<TestKey> s_ec384 = new(() => TestKey.Ec("client-ec384", "ES384"));
    private static readonly Lazy<TestKey> s_rsa = new(() => TestKey.Rsa("client-rsa", "PS256"));
    private static readonly Lazy<TestKey> s_other = new(() => TestKey.Ec("other-ec"));
    private const string Token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    private const string Url = "https://api.example.com/orders/7";

    public sealed record Case(string Name)
    {
        public Func<TestKey> Key { get; init; } = () => s_ec.Value;
        /// <summary>Builds the DPoP header value; by default a valid proof of <see cref="Key"/>.</summary>
        public Func<TestKey, string?>? Proof { get; init; }
        public Action<JsonObject>? Header { get; init; }
        public Action<JsonObject>? Claims { get; init; }
        public string Method { get; init; } = "GET";
        public string Url { get; init; } = DpopProofValidatorTests.Url;
        public DateTimeOffset Iat { get; init; } = s_now;
        /// <summary>The token's cnf.jkt; by default the thumbprint of <see cref="Key"/>.</summary>
        public Func<TestKey, string?>? Bound { get; init; }
        public DpopConfig Config { get; init; } = new() { Algorithms = ["ES256", "PS256", "RS256"] };
        public string? Reason { get; init; }

        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases => new()
    {
        new("Valid_ES256"),
        new("Valid_PS256") { Key = () => s_rsa.Value },
        new("Valid_QueryAndFragmentIgnored") { Url = Url + "?page=2#top" },
        new("Valid_UpperCaseSchemeAndHost_DefaultPort") { Url = "HTTPS://API.Example.COM:443/orders/7" },
        new("Valid_PathNormalizedLikePolicy") { Url = "https://api.example.com/orders/%7E/../7" },
        new("Valid_IatWithinSkewAhead") { Iat = s_now.AddSeconds(4) },
        new("Valid_IatAtMaxAge") { Iat = s_now.AddSeconds(-60) },
        new("Missing") { Proof = _ => null, Reason = ReasonCodes.DpopProofMissing },
        new("MoreThanOneProof") { Proof = k => Valid(k) + ", " + Valid(k), Reason = "dpop.proof_invalid:multiple" },
        new("NotAJws") { Proof = _ => "not-a-jwt", Reason = "dpop.proof_invalid:malformed" },
        new("FourSegments") { Proof = k => Valid(k) + ".x", Reason = "dpop.proof_invalid:malformed" },
        new("HeaderNotJson") { Proof = k => TestKey.B64("nope") + Valid(k)[Valid(k).IndexOf('.', StringComparison.Ordinal)..], Reason = "dpop.proof_invalid:malformed" },
        new("DuplicateClaim") { Proof = k => TestTokens.SignRaw(k, $"{{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{DpopProofs.PublicJwk(k).ToJsonString()}}}", "{\"jti\":\"a\",\"jti\":\"b\"}", "ES256"), Reason = "dpop.proof_invalid:malformed" },
        new("TypJwt") { Header = h => h["typ"] = "JWT", Reason = "dpop.proof_invalid:typ" },
        new("TypMissing") { Header = h => h.Remove("typ"), Reason = "dpop.proof_invalid:typ" },
        new("AlgNone") { Proof = k => TestKey.B64($"{{\"typ\":\"dpop+jwt\",\"alg\":\"none\",\"jwk\":{DpopProofs.PublicJwk(k).ToJsonString()}}}") + "." + TestKey.B64(ClaimsJson()) + ".", Reason = "dpop.proof_invalid:malformed" },
        new("AlgNoneWithSignature") { Header = h => h["alg"] = "none", Reason = "dpop.proof_invalid:alg" },
        new("SymmetricAlg") { Proof = k => TestTokens.SignHmac(new byte[32], $"{{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\",\"jwk\":{{\"kty\":\"oct\",\"k\":\"AAAA\"}}}}", ClaimsJson()), Reason = "dpop.proof_invalid:alg" },
        new("AlgNotInAllowList") { Key = () => s_ec384.Value, Reason = "dpop.proof_invalid:alg" },
        new("Crit") { Header = h => h["crit"] = new JsonArray("exp"), Reason = "dpop.proof_invalid:crit" },
        new("JwkMissing") { Header = h => h.Remove("jwk"), Reason = "dpop.proof_invalid:jwk" },
        new("JwkWithPrivateKey") { Header = h => ((JsonObject)h["jwk"]!)["d"] = TestKey.B64(new byte[32]), Reason = "dpop.proof_invalid:jwk_private" },
        new("JwkTypeDoesNotFitAlg") { Key = () => s_rsa.Value, Header = h => h["alg"] = "ES256", Reason = "dpop.proof_invalid:jwk" },
        new("JwkPointNotOnCurve") { Header = h => ((JsonObject)h["jwk"]!)["y"] = TestKey.B64(new byte[32]), Bound = _ => "x", Reason = "dpop.proof_invalid:jwk" },
        new("JtiMissing") { Claims = c => c.Remove("jti"), Reason = "dpop.proof_invalid:jti" },
        new("JtiTooLong") { Claims = c => c["jti"] = new string('a', 257), Reason = "dpop.proof_invalid:jti" },
        new("HtmMissing") { Claims = c => c.Remove("htm"), Reason = "dpop.proof_invalid:htm" },
        new("HtmOtherMethod") { Method = "POST", Reason = "dpop.proof_invalid:htm" },
        new("HtmLowerCase") { Claims = c => c["htm"] = "get", Reason = "dpop.proof_invalid:htm" },
        new("HtuMissing") { Claims = c => c.Remove("htu"), Reason = "dpop.proof_invalid:htu" },
        new("HtuOtherHost") { Url = "https://evil.example.com/orders/7", Reason = "dpop.proof_invalid:htu" },
        new("HtuOtherScheme") { Url = "http://api.example.com/orders/7", Reason = "dpop.proof_invalid:htu" },
        new("HtuOtherPort") { Url = "https://api.example.com:8443/orders/7", Reason = "dpop.proof_invalid:htu" },
        new("HtuOtherPath") { Url = "https://api.example.com/orders/8", Reason = "dpop.proof_invalid:htu" },
        new("HtuEncodedSlash") { Url = "https://api.example.com/orders%2F7", Reason = "dpop.proof_invalid:htu" },
        new("HtuRelative") { Url = "/orders/7", Reason = "dpop.proof_invalid:htu" },
        new("HtuUserinfo") { Url = "https://user@api.example.com/orders/7", Reason = "dpop.proof_invalid:htu" },
        new("IatMissing") { Claims = c => c.Remove("iat"), Reason = "dpop.proof_invalid:iat" },
        new("IatString") { Claims = c => c["iat"] = "1", Reason = "dpop.proof_invalid:iat" },
        new("IatStale") { Iat = s_now.AddSeconds(-66), Reason = "dpop.proof_invalid:iat" },
        new("IatInTheFuture") { Iat = s_now.AddSeconds(6), Reason = "dpop.proof_invalid:iat" },
        new("AthMissing") { Claims = c => c.Remove("ath"), Reason = "dpop.proof_invalid:ath" },
        new("AthOfAnotherToken") { Claims = c => c["ath"] = DpopProofs.Ath(Token + "x"), Reason = "dpop.proof_invalid:ath" },
        new("NonceNotAString") { Claims = c => c["nonce"] = 1, Reason = "dpop.proof_invalid:nonce" },
        new("SignatureTampered") { Proof = k => Tamper(Valid(k)), Reason = "dpop.proof_invalid:signature" },
        new("SignedByAnotherKey") { Proof = k => TestTokens.SignRaw(s_other.Value, HeaderJson(k), ClaimsJson(), "ES256"), Reason = "dpop.proof_invalid:signature" },
        new("ThumbprintMismatch") { Bound = _ => DpopProofs.Thumbprint(s_other.Value), Reason = ReasonCodes.DpopBindingMismatch },
        // Inputs the allocation-free reader leaves to the document path, or decides byte-wise where it could differ.
        new("Valid_EscapedClaimValue") { Proof = k => TestTokens.SignRaw(k, HeaderJson(k), ClaimsJson().Replace("\"htm\":\"GET\"", "\"htm\":\"G\\u0045T\"", StringComparison.Ordinal), "ES256") },
        new("Valid_EscapedHeaderName") { Proof = k => TestTokens.SignRaw(k, HeaderJson(k).Replace("\"typ\"", "\"\\u0074yp\"", StringComparison.Ordinal), ClaimsJson(), "ES256") },
        new("Valid_NonAsciiJti") { Claims = c => c["jti"] = "jti-\u00e9\u4e2d" },
        new("Valid_TypUpperCase") { Header = h => h["typ"] = "DPOP+JWT" },
        new("Valid_HostWithTrailingDot") { Url = "https://api.example.com./orders/7" },
        new("HtuEmptyPath_IsSlash_NotTheRequestPath") { Url = "https://api.example.com", Reason = "dpop.proof_invalid:htu" },
        new("Valid_UnknownMembersNested") { Claims = c => c["ext"] = new JsonObject { ["a"] = new JsonArray(1, "x", new JsonObject { ["b"] = null }) } },
        new("JtiWithAnEscapedQuote") { Claims = c => c["jti"] = "a\"b" },
        new("DuplicateJwkMember") { Proof = k => TestTokens.SignRaw(k, HeaderJson(k).Replace("\"kty\":\"EC\"", "\"kty\":\"EC\",\"kty\":\"EC\"", StringComparison.Ordinal), ClaimsJson(), "ES256"), Reason = "dpop.proof_invalid:malformed" },
        new("DuplicateEscapedName") { Proof = k => TestTokens.SignRaw(k, HeaderJson(k), ClaimsJson().Replace("{\"jti\"", "{\"j\\u0074i\":\"x\",\"jti\"", StringComparison.Ordinal), "ES256"), Reason = "dpop.proof_invalid:malformed" },
        new("HtmNumberBeforeMissingHtu") { Claims = c => { c["htm"] = 1; c.Remove("htu"); }, Reason = "dpop.proof_invalid:htm" },
        new("JwkNotAnObject") { Header = h => h["jwk"] = "key", Reason = "dpop.proof_invalid:jwk" },
        new("JwkPrivateMemberOfAnyType") { Header = h => ((JsonObject)h["jwk"]!)["oth"] = new JsonArray(), Reason = "dpop.proof_invalid:jwk_private" },
        new("JwkXNotCanonical") { Header = h => ((JsonObject)h["jwk"]!)["x"] = ((JsonObject)h["jwk"]!)["x"]!.GetValue<string>()[..42] + "B", Bound = _ => "x", Reason = "dpop.proof_invalid:jwk" },
        new("IatHuge") { Proof = k => TestTokens.SignRaw(k, HeaderJson(k), ClaimsJson().Replace($"\"iat\":{s_now.ToUnixTimeSeconds()}", "\"iat\":1e400", StringComparison.Ordinal), "ES256"), Reason = "dpop.proof_invalid:iat" },
        new("IatNull") { Claims = c => c["iat"] = null, Reason = "dpop.proof_invalid:iat" },
        new("NonceNull") { Claims = c => c["nonce"] = null, Reason = "dpop.proof_invalid:nonce" },
        new("AthNotCanonical") { Claims = c => c["ath"] = DpopProofs.Ath(Token)[..42] + "B", Reason = "dpop.proof_invalid:ath" },
        new("InvalidUtf8InAnUnreadMember") { Proof = k => SignBytes(k, Encoding.UTF8.GetBytes(HeaderJson(k)), [.. Encoding.UTF8.GetBytes(ClaimsJson()[..^1] + ",\"z\":\""), 0xC3, 0x28, .. "\"}"u8]), Reason = "dpop.proof_invalid:malformed" },
        new("TrailingData") { Proof = k => TestTokens.SignRaw(k, HeaderJson(k) + " {}", ClaimsJson(), "ES256"), Reason = "dpop.proof_invalid:malformed" },
        new("TokenNotBound") { Bound = _ => null, Reason = ReasonCodes.DpopBindingMismatch },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate(Case c)
    {
        var key = c.Key();
        var proof = c.Proof is not null ? c.Proof(key) : DpopProofs.Create(key, "GET", c.Url, Token, c.Iat, c.Header, c.Claims);
        var bound = c.Bound is not null ? c.Bound(key) : DpopProofs.Thumbprint(key);
        var expected = new DpopExpectations(
            c.Method,
            new DpopOrigin("https", "api.example.com", 443),
            "/orders/7",
            new PathNormalizationConfig(),
            Token,
            bound,
            s_now);

        var settings = DpopSettings.Create("edge", c.Config);
        var result = DpopProofValidator.Validate(proof, expected, settings);
        // The allocation-free reader and the document path must agree on every case, key for key.
        var reference = DpopProofValidator.ValidateWithDocuments(proof, expected, settings);

        Assert.Equal(c.Reason, result.Reason);
        Assert.Equal(c.Reason, reference.Reason);
        Assert.Equal(reference.ReplayKey(), result.ReplayKey());
        if (c.Reason is null)
        {
            Assert.Equal(DpopProofs.Thumbprint(key), result.Thumbprint);
            Assert.Matches("^dpop:[A-Za-z0-9_-]{43}$", result.ReplayKey());
        }
    }

    [Fact]
    public void ConfiguredOrigin_AcceptsTheClientFacingUrl()
    {
        var key = s_ec.Value;
        var proof = DpopProofs.Create(key, "GET", "https://public.example.com/orders/7", Token, s_now);
        var expected = new DpopExpectations("GET", new DpopOrigin("http", "10.0.0.5", 8080), "/orders/7", new PathNormalizationConfig(), Token, DpopProofs.Thumbprint(key), s_now);

        Assert.Equal("dpop.proof_invalid:htu", DpopProofValidator.Validate(proof, expected, DpopSettings.Create("edge", new DpopConfig())).Reason);
        Assert.True(DpopProofValidator.Validate(proof, expected, DpopSettings.Create("edge", new DpopConfig { Origins = ["https://public.example.com"] })).Ok);
    }

    [Fact]
    public void ProofCheck_OfAKnownKey_AllocatesNothingBeyondItsSignatureVerify()
    {
        var key = s_ec.Value;
        var proof = Valid(key);
        var expected = new DpopExpectations("GET", new DpopOrigin("https", "api.example.com", 443), "/orders/7", new PathNormalizationConfig(), Token, DpopProofs.Thumbprint(key), s_now);
        var settings = DpopSettings.Create("edge", new DpopConfig());
        var dot = proof.LastIndexOf('.');
        var input = Encoding.ASCII.GetBytes(proof[..dot]);
        var signature = Convert.FromBase64String(Pad(proof[(dot + 1)..]));
        using var verifier = ECDsa.Create(((ECDsa)key.Key).ExportParameters(includePrivateParameters: false));

        // Warm up: the proof key is imported (and kept) on first use, JIT tiers and pools settle.
        for (var i = 0; i < 200; i++)
        {
            Assert.True(DpopProofValidator.Validate(proof, expected, settings).Ok);
            Assert.True(verifier.VerifyData(input.AsSpan(), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        }

        const int Rounds = 50;
        var verified = true;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Rounds; i++)
        {
            verified &= verifier.VerifyData(input.AsSpan(), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }

        var verifyOnly = (GC.GetAllocatedBytesForCurrentThread() - before) / Rounds;
        var ok = true;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Rounds; i++)
        {
            ok &= DpopProofValidator.Validate(proof, expected, settings).Ok;
        }

        var check = (GC.GetAllocatedBytesForCurrentThread() - before) / Rounds;
        var result = DpopProofValidator.Validate(proof, expected, settings);

        Assert.True(verified);
        Assert.True(ok && result.Ok);
        Assert.Equal(verifyOnly, check);
    }

    [Fact]
    public void AccessTokenHash_IsBase64UrlSha256OfTheAsciiToken()
    {
        Assert.Equal(TestKey.B64(SHA256.HashData(Encoding.ASCII.GetBytes(Token))), DpopProofValidator.AccessTokenHash(Token));
    }

    private static string SignBytes(TestKey key, byte[] header, byte[] payload)
    {
        var input = TestKey.B64(header) + "." + TestKey.B64(payload);
        return input + "." + TestKey.B64(key.SignBytes(Encoding.ASCII.GetBytes(input), "ES256"));
    }

    private static string Valid(TestKey key) => DpopProofs.Create(key, "GET", Url, Token, s_now);

    private static string HeaderJson(TestKey key) => $"{{\"typ\":\"dpop+jwt\",\"alg\":\"{key.Alg}\",\"jwk\":{DpopProofs.PublicJwk(key).ToJsonString()}}}";

    private static string ClaimsJson() =>
        $"{{\"jti\":\"j1\",\"htm\":\"GET\",\"htu\":\"{Url}\",\"iat\":{s_now.ToUnixTimeSeconds()},\"ath\":\"{DpopProofs.Ath(Token)}\"}}";

    // Changes the payload (the signature no longer covers it) while keeping it valid JSON with the same claims.
    private static string Tamper(string proof)
    {
        var parts = proof.Split('.');
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1]))))!.AsObject();
        payload["jti"] = "tampered";
        return parts[0] + "." + TestKey.B64(payload.ToJsonString()) + "." + parts[2];
    }

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - (s.Length % 4)) % 4);
    }
}
