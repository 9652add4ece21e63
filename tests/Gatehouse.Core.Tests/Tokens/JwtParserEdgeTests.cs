using System.Text;
using Gatehouse.Model;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// Header and claim refusals, and the confirmation claims, that survived mutation testing (docs/security.md, "Mutation
/// testing", the tokens-checks set): each is pinned with its own reason on both parse paths. Later checks refuse
/// most of these tokens too (an <c>alg</c> of 5 is no allowed algorithm, an <c>aud</c> of [1] matches no audience),
/// which is why removing the parser's refusal went unnoticed; here the parser must say it itself.
/// </summary>
public sealed class JwtParserEdgeTests
{
    private const string Claims = "\"iss\":\"https://idp.example.com/\",\"sub\":\"alice\",\"exp\":1900000000";
    private static readonly string Payload = B64("{" + Claims + "}");
    private static readonly string Signature = B64(new string('s', 64));

    public static TheoryData<string, string, string> Refusals() => new()
    {
        { "alg not a string", B64("{\"alg\":5}") + "." + Payload + "." + Signature, ReasonCodes.TokenMalformed },
        { "kid not a string", B64("{\"alg\":\"RS256\",\"kid\":5}") + "." + Payload + "." + Signature, ReasonCodes.TokenMalformed },
        { "typ not a string", B64("{\"alg\":\"RS256\",\"typ\":[\"at+jwt\"]}") + "." + Payload + "." + Signature, ReasonCodes.TokenMalformed },
        { "JWE header on a three-part token", B64("{\"alg\":\"RS256\",\"enc\":\"A256GCM\"}") + "." + Payload + "." + Signature, ReasonCodes.TokenEncrypted },
        { "nested JWT", B64("{\"alg\":\"RS256\",\"cty\":\"JWT\"}") + "." + Payload + "." + Signature, ReasonCodes.TokenNested },
        { "aud array with a number", B64("{\"alg\":\"RS256\"}") + "." + B64("{" + Claims + ",\"aud\":[\"api\",1]}") + "." + Signature, ReasonCodes.TokenMalformed },
        { "aud a number", B64("{\"alg\":\"RS256\"}") + "." + B64("{" + Claims + ",\"aud\":1}") + "." + Signature, ReasonCodes.TokenMalformed },
        { "iss a number", B64("{\"alg\":\"RS256\"}") + "." + B64("{\"iss\":5,\"exp\":1900000000}") + "." + Signature, ReasonCodes.TokenMalformed },
        { "jti an object", B64("{\"alg\":\"RS256\"}") + "." + B64("{" + Claims + ",\"jti\":{}}") + "." + Signature, ReasonCodes.TokenMalformed },
        { "exp a string", B64("{\"alg\":\"RS256\"}") + "." + B64("{\"iss\":\"https://idp.example.com/\",\"exp\":\"1900000000\"}") + "." + Signature, ReasonCodes.TokenMalformed },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Parse_RefusesWithItsOwnReason_OnBothPaths(string name, string token, string reason)
    {
        foreach (var singlePass in new[] { true, false })
        {
            var parsed = Parse(token, singlePass);
            Assert.False(parsed.Ok, $"{name} (single pass: {singlePass})");
            Assert.Equal(reason, parsed.Reason);
        }
    }

    [Theory]
    [InlineData("{\"jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\"}", null, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")]
    [InlineData("{\"x5t#S256\":\"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2\"}", "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2", null)]
    [InlineData("{\"x5t#S256\":\"a\",\"jkt\":\"b\",\"other\":{\"jkt\":\"c\"}}", "a", "b")]
    [InlineData("{\"jkt\":5}", null, null)]
    public void TheConfirmationClaims_AreReadTheSame_OnBothPaths(string cnf, string? x5t, string? jkt)
    {
        // RFC 8705 §3.1 and RFC 9449 §6.1: a bound token read as unbound would be accepted as a plain bearer token.
        var token = B64("{\"alg\":\"RS256\"}") + "." + B64("{" + Claims + ",\"cnf\":" + cnf + "}") + "." + Signature;
        foreach (var singlePass in new[] { true, false })
        {
            var parsed = Parse(token, singlePass);
            Assert.True(parsed.Ok, parsed.Detail);
            Assert.Equal(x5t, parsed.CnfX5tS256);
            Assert.Equal(jkt, parsed.CnfJkt);
        }
    }

    private static ParsedJwt Parse(string token, bool singlePass)
    {
        Assert.Equal(2, JwtParser.CountDots(token, out var first, out var second));
        return JwtParser.Parse(token, first, second, singlePass);
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
