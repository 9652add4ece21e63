using System.Text;
using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Identity.Profiles;
using Gatehouse.Model;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The new-token path after the single-pass parse and the per-key verifier: the single-pass readers must agree with
/// the two-pass reference parse on every input (same reason, same detail, same claims read), a token whose signature
/// fails must never reach the verified-token cache, and a cached token must still serve policies that read claims.
/// </summary>
public sealed class SlowPathTests
{
    private const string Payload = """{"iss":"https://idp.test/","sub":"alice","aud":"orders","exp":2000000000,"iat":1700000000,"jti":"j1"}""";
    private const string Header = """{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}""";

    public static TheoryData<string> Headers => new()
    {
        Header,
        """{"alg":"ES256"}""",
        """ {"alg":"PS512","kid":"k","typ":"JWT","x5u":"https://x","jwk":{"kty":"RSA","n":"a","e":"b"},"x5c":["a","b"]} """,
        """{"alg":"RS256","cty":"jwt"}""",
        """{"alg":"RS256","cty":"JWT"}""",
        """{"alg":"RS256","cty":"application/json"}""",
        """{"alg":"RS256","cty":7}""",
        """{"alg":"RS256","cty":{"a":1}}""",
        """{"alg":"RS256","crit":["exp"]}""",
        """{"alg":"RS256","crit":"x"}""",
        """{"alg":"RS256","enc":"A128GCM"}""",
        """{"kid":"k"}""",
        """{"alg":"none"}""",
        """{"alg":"NoNe"}""",
        """{"alg":7}""",
        """{"alg":null}""",
        """{"alg":["RS256"]}""",
        """{"alg":{"x":1}}""",
        """{"alg":"RS256","kid":7}""",
        """{"alg":"RS256","kid":null}""",
        """{"alg":"RS256","typ":["at+jwt"]}""",
        """{"alg":"RS256","typ":{}}""",
        """{"alg":"RS256","alg":"RS256"}""",
        """{"alg":"RS256","\u0061lg":"ES256"}""",
        """{"\u0061lg":"RS256"}""",
        """{"alg":"RS\u0032\u0035\u0036"}""",
        """{"alg":"RS256","jwk":{"kty":"RSA","kty":"EC"}}""",
        """{"alg":"RS256","jwk":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{}}}}}}}}}""",
        """{"alg":"RS256","jwk":{"a":{"b":{"c":{"d":{"e":{"f":{}}}}}}}}""",
        """{"alg":"RS256",}""",
        """{"alg":"RS256"/*c*/}""",
        """{"alg":"RS256"} x""",
        """{"alg":"RS256"}{}""",
        """["alg"]""",
        """ "RS256" """,
        """{}""",
        """{"alg":"RS256","kid":"\uD800"}""",
        """{"alg":"RS256","kid":"\uD83D\uDE00"}""",
        """{"alg":"RS256","x":"a\u0000b"}""",
    };

    public static TheoryData<string> Payloads => new()
    {
        Payload,
        """{"iss":"https://idp.test/","aud":["orders","billing"],"exp":2000000000.5,"nbf":1.7e9,"iat":1700000000,"client_id":"c"}""",
        """{"iss":"https://idp.test/","aud":[],"exp":2000000000}""",
        """{"iss":"https://idp.test/","exp":2000000000,"cnf":{"x5t#S256":"abc"}}""",
        """{"iss":"https://idp.test/","exp":2000000000,"cnf":{"x5t#S256":7,"jkt":"x"}}""",
        """{"iss":"https://idp.test/","exp":2000000000,"cnf":["x5t#S256","abc"]}""",
        """{"iss":"https://idp.test/","exp":2000000000,"cnf":{"other":{"x5t#S256":"nested"}}}""",
        """{"iss":"https://idp.test/","exp":2000000000,"cnf":{"x5t\u0023S256":"escaped"}}""",
        """{"iss":"https://idp.test/","exp":2000000000,"client_id":7}""",
        """{"iss":"https://idp.test/","exp":2000000000,"client_id":null}""",
        """{"iss":7,"exp":2000000000}""",
        """{"iss":null}""",
        """{"iss":["a"]}""",
        """{"iss":{"a":1}}""",
        """{"jti":7}""",
        """{"jti":"\u00e9t\u00e9"}""",
        """{"exp":"2000000000"}""",
        """{"exp":1e400}""",
        """{"exp":-1e400}""",
        """{"exp":null}""",
        """{"exp":[1]}""",
        """{"exp":{"v":1}}""",
        """{"exp":true}""",
        """{"nbf":"x"}""",
        """{"iat":false}""",
        """{"aud":7}""",
        """{"aud":null}""",
        """{"aud":{"a":"b"}}""",
        """{"aud":["a",7]}""",
        """{"aud":["a",["b"]]}""",
        """{"aud":["a",{"b":1}]}""",
        """{"aud":["a",null]}""",
        """{"aud":"a","exp":1,"aud":"b"}""",
        """{"exp":1,"\u0065xp":2}""",
        """{"realm_access":{"roles":["a"],"roles":["b"]}}""",
        """{"a":{"b":1},"c":{"b":2}}""",
        """{"a":[{"b":1},{"b":2}]}""",
        """{"a":[{"b":1,"b":2}]}""",
        """{"sub":"\uDC00"}""",
        """{"sub":"\uD83D\uDE00","iss":"https:\/\/idp.test\/"}""",
        """{"iss":"https://idp.test/",}""",
        """{"iss":"https://idp.test/"} // c""",
        """{"iss":"https://idp.test/"}]""",
        """[1]""",
        """null""",
        """{}""",
        """  {"iss" : "https://idp.test/" , "exp" : 2000000000 }  """,
        Nest(31),
        Nest(32),
        Nest(40),
        Many(127, duplicateLast: false),
        Many(128, duplicateLast: false),
        Many(200, duplicateLast: false),
        Many(200, duplicateLast: true),
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void Header_SinglePassAgreesWithReference(string header) => AssertSame(Token(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes(Payload)));

    [Theory]
    [MemberData(nameof(Payloads))]
    public void Payload_SinglePassAgreesWithReference(string payload) => AssertSame(Token(Encoding.UTF8.GetBytes(Header), Encoding.UTF8.GetBytes(payload)));

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })]
    [InlineData(new byte[] { 0xE2, 0x82 })]
    [InlineData(new byte[] { 0xFF })]
    public void InvalidUtf8_SinglePassAgreesWithReference(byte[] bad)
    {
        static byte[] With(string before, byte[] bad, string after) => [.. Encoding.UTF8.GetBytes(before), .. bad, .. Encoding.UTF8.GetBytes(after)];

        // In a value and in a name, in the header and in the claims (RFC 8259 §8.1: JSON text is UTF-8).
        AssertSame(Token(With("{\"alg\":\"RS256\",\"kid\":\"", bad, "\"}"), Encoding.UTF8.GetBytes(Payload)));
        AssertSame(Token(With("{\"alg\":\"RS256\",\"", bad, "\":1}"), Encoding.UTF8.GetBytes(Payload)));
        AssertSame(Token(Encoding.UTF8.GetBytes(Header), With("{\"iss\":\"https://idp.test/\",\"sub\":\"", bad, "\"}")));
        AssertSame(Token(Encoding.UTF8.GetBytes(Header), With("{\"iss\":\"https://idp.test/\",\"", bad, "\":1}")));
    }

    [Fact]
    public void SinglePass_ReadsTheRegisteredClaims()
    {
        var jwt = Parse(Token(Encoding.UTF8.GetBytes(Header), Encoding.UTF8.GetBytes(
            """{"iss":"https://idp.test/","aud":["orders","billing"],"exp":2000000000,"nbf":1700000000,"iat":1700000001,"jti":"j","client_id":"c","cnf":{"x5t#S256":"t"}}""")), singlePass: true);
        Assert.True(jwt.Ok);
        Assert.Equal(("RS256", "rsa-1", "at+jwt"), (jwt.Alg, jwt.Kid, jwt.Typ));
        Assert.Same("RS256", jwt.Alg);
        Assert.Equal(("https://idp.test/", "j", "c", "t"), (jwt.Iss, jwt.Jti, jwt.ClientId, jwt.CnfX5tS256));
        Assert.Equal((2000000000d, 1700000000d, 1700000001d), (jwt.Exp, jwt.Nbf, jwt.Iat));
        Assert.Equal(["orders", "billing"], jwt.Aud.Values!);
    }

    [Fact]
    public async Task BadSignature_NeverCached()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var forger = TestKey.Rsa(ctx.Rsa.Kid);
        var forged = TestTokens.Sign(forger, TestTokens.Claims(ctx.Now));
        var valid = TestTokens.Sign(ctx.Ec, TestTokens.Claims(ctx.Now));
        var tampered = valid[..(valid.IndexOf('.', StringComparison.Ordinal) + 1)] + TestKey.B64(TestTokens.Claims(ctx.Now).ToJsonString()) + valid[valid.LastIndexOf('.')..];
        for (var round = 0; round < 2; round++)
        {
            Assert.Equal(ReasonCodes.TokenSignatureInvalid, (await ctx.AuthenticateAsync(forged)).Reason);
            Assert.Equal(ReasonCodes.TokenSignatureInvalid, (await ctx.AuthenticateAsync(tampered)).Reason);
        }

        Assert.Equal(0, ctx.Authenticator.VerifiedCacheCount);
        Assert.True((await ctx.AuthenticateAsync(valid)).Succeeded);
        Assert.Equal(1, ctx.Authenticator.VerifiedCacheCount);
    }

    [Fact]
    public async Task CachedToken_StillServesClaimReadingPolicies()
    {
        await using var ctx = await TokenTestContext.CreateAsync(c => c with { Profile = "keycloak" });
        var claims = TestTokens.Claims(ctx.Now);
        claims["realm_access"] = new System.Text.Json.Nodes.JsonObject { ["roles"] = new System.Text.Json.Nodes.JsonArray("admin", "clerk") };
        claims["org"] = new System.Text.Json.Nodes.JsonObject { ["tier"] = "gold", ["ids"] = new System.Text.Json.Nodes.JsonArray(1, 2) };
        claims["https://example.com/flags"] = "beta";
        var payload = claims.ToJsonString();
        var token = TestTokens.Sign(ctx.Rsa, claims);

        var miss = await ctx.AuthenticateAsync(token);
        var hit = await ctx.AuthenticateAsync(token);
        Assert.True(hit.Succeeded);
        Assert.Same(miss.Token, hit.Token);

        // The claims of the cached token are the whole payload, readable after the miss returned.
        var cached = hit.Token!;
        Assert.Equal(payload, cached.Claims.GetRawText());
        Assert.True(ClaimProfiles.TryGetClaim(cached.Claims, "org.tier", out var tier));
        Assert.Equal("gold", tier.GetString());
        Assert.True(ClaimProfiles.TryGetClaim(cached.Claims, "https://example.com/flags", out var flags));
        Assert.Equal("beta", flags.GetString());
        var principal = cached.GetPrincipal(static t => ClaimProfiles.CreatePrincipal(t.Claims, t.Issuer.Config, workload: null));
        Assert.Equal(["admin", "clerk"], principal.Roles.Order(StringComparer.Ordinal));
        Assert.True(ClaimProfiles.TryGetClaim(principal.Claims, "org.ids", out var ids));
        Assert.Equal(2, ids.GetArrayLength());
        Assert.Same(principal, cached.GetPrincipal(static _ => throw new InvalidOperationException("built twice")));

        // The cached facts carry the issuer's and the key's strings, equal to the token's.
        Assert.Same(ctx.Config.Issuer, cached.Facts.Issuer);
        Assert.Equal(ctx.Rsa.Kid, cached.Facts.Kid);
    }

    private static void AssertSame(string token)
    {
        var fast = Parse(token, singlePass: true);
        var reference = Parse(token, singlePass: false);
        Assert.Equal(Describe(reference), Describe(fast));
    }

    private static ParsedJwt Parse(string token, bool singlePass)
    {
        JwtParser.CountDots(token, out var first, out var second);
        return JwtParser.Parse(token, first, second, singlePass);
    }

    private static string Describe(ParsedJwt j) => JsonSerializer.Serialize(new
    {
        j.Reason,
        j.Detail,
        j.Alg,
        j.Kid,
        j.Typ,
        j.Iss,
        j.Jti,
        j.ClientId,
        j.Exp,
        j.Nbf,
        j.Iat,
        j.Aud.IsPresent,
        j.Aud.Single,
        j.Aud.Values,
        j.CnfX5tS256,
    });

    private static string Token(byte[] header, byte[] payload) => TestKey.B64(header) + "." + TestKey.B64(payload) + ".c2ln";

    private static string Nest(int depth) => """{"iss":"https://idp.test/","n":""" + string.Concat(Enumerable.Repeat("""{"a":""", depth - 1)) + "1" + new string('}', depth - 1) + "}";

    private static string Many(int count, bool duplicateLast) =>
        "{" + string.Join(",", Enumerable.Range(0, count).Select(i => $"\"c{(duplicateLast && i == count - 1 ? 0 : i)}\":{i}")) + ""","iss":"https://idp.test/"}""";
}
