using System.Text.Json.Nodes;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tokens;

namespace Gatehouse.Tests.Tokens;

/// <summary>A named JWT rule case (IdentityModel-style TheoryData): builds a token, expects a reason or success.</summary>
public sealed record JwtCase(string Name)
{
    public required Func<TokenTestContext, string> Token { get; init; }
    /// <summary>null = must succeed.</summary>
    public string? Reason { get; init; }
    public Func<Gatehouse.Configuration.IssuerConfig, Gatehouse.Configuration.IssuerConfig>? Configure { get; init; }
    public override string ToString() => Name;
}

public sealed class JwtValidationTests
{
    private static JsonObject C(TokenTestContext c, Action<JsonObject>? edit = null)
    {
        var claims = TestTokens.Claims(c.Now);
        edit?.Invoke(claims);
        return claims;
    }

    // Entra ID multi-tenant issuer (docs/tokens.md, "Multi-tenant issuers").
    private static Func<Gatehouse.Configuration.IssuerConfig, Gatehouse.Configuration.IssuerConfig> Entra(string[] tenants) =>
        x => x with { Issuer = "https://login.microsoftonline.com/{tenantid}/v2.0", Tenants = tenants, Profile = "entra" };

    private static string Mutate(string token, Func<string[], string[]> f) => string.Join('.', f(token.Split('.')));

    public static TheoryData<JwtCase> Cases() =>
    [
        new("Valid_RS256") { Token = c => TestTokens.Sign(c.Rsa, C(c)) },
        new("Valid_ES256") { Token = c => TestTokens.Sign(c.Ec, C(c)) },
        new("Valid_RS384") { Token = c => TestTokens.Sign(c.Rsa, C(c), "RS384") },
        new("Valid_RS512") { Token = c => TestTokens.Sign(c.Rsa, C(c), "RS512") },
        new("Valid_PS256") { Token = c => TestTokens.Sign(c.Rsa, C(c), "PS256") },
        new("Valid_PS384") { Token = c => TestTokens.Sign(c.Rsa, C(c), "PS384") },
        new("Valid_PS512") { Token = c => TestTokens.Sign(c.Rsa, C(c), "PS512") },
        new("Valid_AudienceArray_AnyOf") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["aud"] = new JsonArray("other", "billing"))) },
        new("Valid_ExpiredWithinClockSkew") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["exp"] = c.Now.AddSeconds(-10).ToUnixTimeSeconds())) },
        new("Valid_FractionalNumericDate") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["exp"] = c.Now.AddMinutes(5).ToUnixTimeSeconds() + 0.5)) },
        new("Valid_NoKid_SingleFittingKey") { Token = c => TestTokens.Sign(c.Ec, C(c), header: h => h.Remove("kid")) },
        new("Expired_BeyondClockSkew") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["exp"] = c.Now.AddSeconds(-31).ToUnixTimeSeconds())), Reason = ReasonCodes.TokenExpired },
        new("Expired_ExactlyAtExpPlusSkew") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["exp"] = c.Now.AddSeconds(-30).ToUnixTimeSeconds())), Reason = ReasonCodes.TokenExpired },
        new("ExpMissing") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j.Remove("exp"))), Reason = ReasonCodes.TokenExpirationMissing },
        new("ExpNotANumber") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["exp"] = "tomorrow")), Reason = ReasonCodes.TokenMalformed },
        new("NotYetValid_BeyondSkew") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["nbf"] = c.Now.AddSeconds(31).ToUnixTimeSeconds())), Reason = ReasonCodes.TokenNotYetValid },
        new("NotYetValid_WithinSkew") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["nbf"] = c.Now.AddSeconds(29).ToUnixTimeSeconds())) },
        new("IssuedInFuture_BeyondSkew") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["iat"] = c.Now.AddSeconds(31).ToUnixTimeSeconds())), Reason = ReasonCodes.TokenIssuedInFuture },
        new("WrongIssuer") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["iss"] = "https://evil.test/")), Reason = ReasonCodes.TokenIssuerUnknown },
        new("IssuerTrailingSlashDiffers") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["iss"] = "https://idp.test")), Reason = ReasonCodes.TokenIssuerUnknown },
        new("IssuerMissing") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j.Remove("iss"))), Reason = ReasonCodes.TokenIssuerUnknown },
        new("TenantTemplate_AllowedTenant") { Configure = Entra(["72f988bf-86f1-41af-91ab-2d7cd011db47"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"; j["tid"] = "72f988bf-86f1-41af-91ab-2d7cd011db47"; })) },
        new("TenantTemplate_AnyTenant") { Configure = Entra(["*"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"; j["tid"] = "9188040d-6c67-4c5b-b112-36a304b66dad"; })) },
        new("TenantTemplate_TenantNotAllowed") { Configure = Entra(["72f988bf-86f1-41af-91ab-2d7cd011db47"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"; j["tid"] = "9188040d-6c67-4c5b-b112-36a304b66dad"; })), Reason = ReasonCodes.TokenIssuerUnknown },
        new("TenantTemplate_TidNamesAnotherTenant") { Configure = Entra(["*"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"; j["tid"] = "9188040d-6c67-4c5b-b112-36a304b66dad"; })), Reason = ReasonCodes.TokenTenantMismatch },
        new("TenantTemplate_TidMissing") { Configure = Entra(["72f988bf-86f1-41af-91ab-2d7cd011db47"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["iss"] = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")), Reason = ReasonCodes.TokenTenantMismatch },
        new("TenantTemplate_TidNotAString") { Configure = Entra(["72f988bf-86f1-41af-91ab-2d7cd011db47"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"; j["tid"] = new JsonArray("72f988bf-86f1-41af-91ab-2d7cd011db47"); })), Reason = ReasonCodes.TokenTenantMismatch },
        new("TenantTemplate_UpperCaseTenant") { Configure = Entra(["*"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47/v2.0"; j["tid"] = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"; })), Reason = ReasonCodes.TokenIssuerUnknown },
        new("TenantTemplate_TenantSpansSegments") { Configure = Entra(["*"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/x/v2.0"; j["tid"] = "72f988bf-86f1-41af-91ab-2d7cd011db47"; })), Reason = ReasonCodes.TokenIssuerUnknown },
        new("TenantTemplate_LiteralPlaceholderIsNoTenant") { Configure = Entra(["*"]), Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/{tenantid}/v2.0"; j["tid"] = "{tenantid}"; })), Reason = ReasonCodes.TokenIssuerUnknown },
        new("TenantTemplate_TamperedSignatureStillFails") { Configure = Entra(["*"]), Token = c => Mutate(TestTokens.Sign(c.Rsa, C(c, j => { j["iss"] = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"; j["tid"] = "72f988bf-86f1-41af-91ab-2d7cd011db47"; })), p => [p[0], p[1], (p[2][0] == 'A' ? 'B' : 'A') + p[2][1..]]), Reason = ReasonCodes.TokenSignatureInvalid },
        new("WrongAudience") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["aud"] = "payments")), Reason = ReasonCodes.TokenAudienceMismatch },
        new("AudienceMissing") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => j.Remove("aud"))), Reason = ReasonCodes.TokenAudienceMismatch },
        new("AlgNone") { Token = c => TestKey.B64("{\"alg\":\"none\"}") + "." + TestKey.B64(C(c).ToJsonString()) + ".", Reason = ReasonCodes.TokenSignatureInvalid },
        new("AlgNone_WithSignature") { Token = c => TestKey.B64("{\"alg\":\"none\"}") + "." + TestKey.B64(C(c).ToJsonString()) + ".AAAA", Reason = ReasonCodes.TokenAlgorithmNotAllowed },
        new("AlgNotInAllowList") { Configure = x => x with { Algorithms = ["ES256"] }, Token = c => TestTokens.Sign(c.Rsa, C(c)), Reason = ReasonCodes.TokenAlgorithmNotAllowed },
        new("HS256_SignedWithRsaPublicKey") { Configure = x => x with { Algorithms = ["RS256", "HS256"] },
            Token = c => TestTokens.SignHmac(System.Text.Encoding.UTF8.GetBytes(c.Rsa.Jwk().ToJsonString()), "{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}", C(c).ToJsonString()), Reason = ReasonCodes.TokenAlgorithmNotAllowed },
        new("KeyTypeDoesNotFitAlg") { Token = c => TestTokens.Sign(c.Ec, C(c), header: h => h["kid"] = "rsa-1"), Reason = ReasonCodes.TokenKeyAlgorithmMismatch },
        new("UnknownKid") { Token = c => TestTokens.Sign(TestKey.Rsa("attacker"), C(c)), Reason = ReasonCodes.TokenKeyUnknown },
        new("EmbeddedJwkAndJkuIgnored") { Token = c =>
            {
                var attacker = TestKey.Rsa("attacker");
                return TestTokens.Sign(attacker, C(c), header: h => { h["jwk"] = attacker.Jwk(); h["jku"] = "https://evil.test/jwks"; h["x5u"] = "https://evil.test/x5u"; });
            }, Reason = ReasonCodes.TokenKeyUnknown },
        new("TamperedPayload") { Token = c => Mutate(TestTokens.Sign(c.Rsa, C(c)), p => [p[0], TestKey.B64(C(c, j => j["sub"] = "admin").ToJsonString()), p[2]]), Reason = ReasonCodes.TokenSignatureInvalid },
        new("TamperedSignature_Canonical") { Token = c => Mutate(TestTokens.Sign(c.Rsa, C(c)), p => [p[0], p[1], (p[2][0] == 'A' ? 'B' : 'A') + p[2][1..]]), Reason = ReasonCodes.TokenSignatureInvalid },
        new("LastSignatureCharChanged_NonCanonical") { Token = c => Mutate(TestTokens.Sign(c.Rsa, C(c)), p => [p[0], p[1], p[2][..^1] + NonCanonicalTwin(p[2][^1])]), Reason = ReasonCodes.TokenNotCanonical },
        new("LastSignatureCharChanged_ES256") { Token = c => Mutate(TestTokens.Sign(c.Ec, C(c)), p => [p[0], p[1], p[2][..^1] + NonCanonicalTwin(p[2][^1], 3)]), Reason = ReasonCodes.TokenNotCanonical },
        new("PaddedSignature") { Token = c => TestTokens.Sign(c.Rsa, C(c)) + "==", Reason = ReasonCodes.TokenNotCanonical },
        new("StandardBase64Alphabet") { Token = c => Mutate(TestTokens.Sign(c.Rsa, C(c)), p => [p[0], p[1], "+/" + p[2][2..]]), Reason = ReasonCodes.TokenNotCanonical },
        new("EcSignatureWrongLength") { Token = c => Mutate(TestTokens.Sign(c.Ec, C(c)), p => [p[0], p[1], TestKey.B64(new byte[70])]), Reason = ReasonCodes.TokenSignatureInvalid },
        new("DuplicateClaim") { Token = c => TestTokens.SignRaw(c.Rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
            C(c).ToJsonString().TrimEnd('}') + ",\"sub\":\"admin\"}", "RS256"), Reason = ReasonCodes.TokenDuplicateClaim },
        new("DuplicateClaim_EscapedName") { Token = c => TestTokens.SignRaw(c.Rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
            C(c).ToJsonString().TrimEnd('}') + ",\"\\u0073ub\":\"admin\"}", "RS256"), Reason = ReasonCodes.TokenDuplicateClaim },
        new("DuplicateHeaderMember") { Token = c => TestTokens.SignRaw(c.Rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"alg\":\"none\"}", C(c).ToJsonString(), "RS256"), Reason = ReasonCodes.TokenDuplicateClaim },
        new("CritHeader") { Token = c => TestTokens.Sign(c.Rsa, C(c), header: h => { h["crit"] = new JsonArray("exp"); h["exp"] = 1; }), Reason = ReasonCodes.TokenCriticalHeaderUnsupported },
        new("NestedJwt") { Token = c => TestTokens.Sign(c.Rsa, C(c), header: h => h["cty"] = "JWT"), Reason = ReasonCodes.TokenNested },
        new("Jwe_FiveParts") { Token = _ => TestKey.B64("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}") + ".AAAA.AAAA.AAAA.AAAA", Reason = ReasonCodes.TokenEncrypted },
        new("PayloadNotJson") { Token = c => TestTokens.SignRaw(c.Rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "not json", "RS256"), Reason = ReasonCodes.TokenMalformed },
        new("PayloadJsonArray") { Token = c => TestTokens.SignRaw(c.Rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "[1,2]", "RS256"), Reason = ReasonCodes.TokenMalformed },
        new("HeaderWithTrailingComma") { Token = c => TestTokens.SignRaw(c.Rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",}", C(c).ToJsonString(), "RS256"), Reason = ReasonCodes.TokenMalformed },
        new("TooLarge") { Configure = x => x with { MaxTokenBytes = 512 }, Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["pad"] = new string('x', 600))), Reason = ReasonCodes.TokenTooLarge },
        new("TypeRequired_Matches") { Configure = x => x with { RequireType = "at+jwt" }, Token = c => TestTokens.Sign(c.Rsa, C(c)) },
        new("TypeRequired_CaseInsensitive") { Configure = x => x with { RequireType = "at+jwt" }, Token = c => TestTokens.Sign(c.Rsa, C(c), header: h => h["typ"] = "AT+JWT") },
        new("TypeRequired_ApplicationPrefix") { Configure = x => x with { RequireType = "at+jwt" }, Token = c => TestTokens.Sign(c.Rsa, C(c), header: h => h["typ"] = "application/at+jwt") },
        new("TypeRequired_PlainJwtRejected") { Configure = x => x with { RequireType = "at+jwt" }, Token = c => TestTokens.Sign(c.Rsa, C(c), header: h => h["typ"] = "JWT"), Reason = ReasonCodes.TokenTypeMismatch },
        new("TypeRequired_Missing") { Configure = x => x with { RequireType = "at+jwt" }, Token = c => TestTokens.Sign(c.Rsa, C(c), header: h => h.Remove("typ")), Reason = ReasonCodes.TokenTypeMismatch },
        new("Cognito_ClientIdAsAudience") { Configure = x => x with { Profile = "cognito" }, Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j.Remove("aud"); j["client_id"] = "orders"; })) },
        new("Cognito_WrongClientId") { Configure = x => x with { Profile = "cognito" }, Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j.Remove("aud"); j["client_id"] = "other"; })), Reason = ReasonCodes.TokenAudienceMismatch },
        new("Generic_ClientIdIsNotAudience") { Token = c => TestTokens.Sign(c.Rsa, C(c, j => { j.Remove("aud"); j["client_id"] = "orders"; })), Reason = ReasonCodes.TokenAudienceMismatch },
        new("BoundTokensRequired_NoCnf") { Configure = x => x with { RequireBoundTokens = true }, Token = c => TestTokens.Sign(c.Rsa, C(c)), Reason = ReasonCodes.TokenBindingRequired },
        new("BoundTokensRequired_WithCnf") { Configure = x => x with { RequireBoundTokens = true }, Token = c => TestTokens.Sign(c.Rsa, C(c, j => j["cnf"] = new JsonObject { ["x5t#S256"] = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" })) },
        new("NotBase64Segment") { Token = _ => "eyJ!!!.e30.AAAA", Reason = ReasonCodes.TokenNotCanonical },
    ];

    // Same decoded bytes, different character: set low bits that the decoder ignores.
    private static char NonCanonicalTwin(char c, int rem = 2)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var v = alphabet.IndexOf(c, StringComparison.Ordinal);
        return alphabet[v | (rem == 2 ? 0x01 : 0x01)];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AuthenticateAsync_AppliesRule(JwtCase @case)
    {
        await using var ctx = await TokenTestContext.CreateAsync(@case.Configure);
        var token = @case.Token(ctx);
        var result = await ctx.AuthenticateAsync(token);
        if (@case.Reason is null)
        {
            Assert.True(result.Succeeded, result.ToString());
            Assert.Equal("corp", result.Token!.Facts.IssuerName);
            Assert.False(result.Unavailable);
        }
        else
        {
            Assert.False(result.Succeeded);
            Assert.Equal(@case.Reason, result.Reason);
            Assert.False(result.Unavailable);
            Assert.DoesNotContain(token, result.Detail ?? "", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AuthenticateAsync_SuccessCarriesFactsAndClaims()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var claims = TestTokens.Claims(ctx.Now);
        claims["cnf"] = new JsonObject { ["x5t#S256"] = "thumb" };
        var token = TestTokens.Sign(ctx.Rsa, claims);
        var result = await ctx.AuthenticateAsync(token);
        Assert.True(result.Succeeded, result.ToString());
        var t = result.Token!;
        Assert.Equal(TokenFingerprint.Compute(token), t.Facts.Fingerprint);
        Assert.Equal(16, t.Facts.Fingerprint.Length);
        Assert.Equal("rsa-1", t.Facts.Kid);
        Assert.Equal(claims["jti"]!.GetValue<string>(), t.Facts.Jti);
        Assert.Equal(TestTokens.Issuer, t.Facts.Issuer);
        Assert.Equal("RS256", t.Facts.Algorithm);
        Assert.Equal("alice", t.Claims.GetProperty("sub").GetString());
        Assert.Equal("thumb", t.ConfirmationThumbprint);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(claims["exp"]!.GetValue<long>()), t.ExpiresAt);
        Assert.Same(ctx.Issuer, t.Issuer);
    }

    [Fact]
    public async Task AuthenticateAsync_FailureCarriesFacts()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var claims = TestTokens.Claims(ctx.Now, TimeSpan.FromMinutes(-5));
        var token = TestTokens.Sign(ctx.Rsa, claims);
        var result = await ctx.AuthenticateAsync(token);
        Assert.Equal(ReasonCodes.TokenExpired, result.Reason);
        Assert.Equal("rsa-1", result.Facts!.Kid);
        Assert.Equal(TokenFingerprint.Compute(token), result.Facts.Fingerprint);
    }

    [Fact]
    public async Task AuthenticateAsync_EmptyToken_Missing()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        Assert.Equal(ReasonCodes.TokenMissing, (await ctx.AuthenticateAsync("")).Reason);
    }

    [Fact]
    public async Task AuthenticateAsync_NoCandidates_IssuerUnknown()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var result = await ctx.Authenticator.AuthenticateAsync(TestTokens.Sign(ctx.Rsa, TestTokens.Claims(ctx.Now)), [], default);
        Assert.Equal(ReasonCodes.TokenIssuerUnknown, result.Reason);
    }

    [Fact]
    public async Task AuthenticateAsync_IssuerChosenByIss_NotByTrial()
    {
        await using var a = await TokenTestContext.CreateAsync();
        var otherKey = TestKey.Rsa("rsa-1"); // same kid as a's key, different key material
        await using var b = await TokenTestContext.CreateAsync(x => x with { Name = "other", Issuer = "https://other.test/" }, otherKey);
        // b trusts otherKey; a token signed by it but claiming a's issuer is checked against a's keys only.
        var token = TestTokens.Sign(otherKey, TestTokens.Claims(a.Now));
        var result = await a.Authenticator.AuthenticateAsync(token, [b.Issuer, a.Issuer], CancellationToken.None);
        Assert.Equal(ReasonCodes.TokenSignatureInvalid, result.Reason);
    }

    [Fact]
    public async Task AuthenticateAsync_Hmac_OnlyWithSecretFile()
    {
        var secret = new byte[32];
        Random.Shared.NextBytes(secret);
        var text = Convert.ToHexString(secret);
        var dir = Path.Combine(Path.GetTempPath(), "gh-hmac-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "secret");
        await File.WriteAllTextAsync(file, text + "\n");
        await using var ctx = await TokenTestContext.CreateAsync(x => x with { HmacSecretFile = file, Algorithms = ["HS256"] });
        var token = TestTokens.SignHmac(System.Text.Encoding.UTF8.GetBytes(text), "{\"alg\":\"HS256\"}", TestTokens.Claims(ctx.Now).ToJsonString());
        var ok = await ctx.AuthenticateAsync(token);
        Assert.True(ok.Succeeded, ok.ToString());

        await using var noSecret = await TokenTestContext.CreateAsync(x => x with { Algorithms = ["HS256"] });
        Assert.Equal(ReasonCodes.TokenAlgorithmNotAllowed, (await noSecret.AuthenticateAsync(token)).Reason);
    }

    [Fact]
    public async Task AuthenticateAsync_Hmac_SecretShorterThanHash_Unavailable()
    {
        var dir = Path.Combine(Path.GetTempPath(), "gh-hmac-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "secret");
        await File.WriteAllTextAsync(file, "short");
        await using var ctx = await TokenTestContext.CreateAsync(x => x with { HmacSecretFile = file, Algorithms = ["HS256"] });
        var token = TestTokens.SignHmac("short"u8.ToArray(), "{\"alg\":\"HS256\"}", TestTokens.Claims(ctx.Now).ToJsonString());
        var result = await ctx.AuthenticateAsync(token);
        Assert.True(result.Unavailable);
        Assert.Equal(ReasonCodes.KeysUnavailable, result.Reason);
    }
}
