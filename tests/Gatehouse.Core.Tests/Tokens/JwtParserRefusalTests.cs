using System.Text;
using Gatehouse.Model;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The strict pre-parse refuses, by itself and with its own reason, what must never reach a key lookup or a
/// signature check: <c>alg: none</c> in any spelling (RFC 8725 §3.2), a missing <c>alg</c> (RFC 7515 §4.1.1), an empty
/// signature (RFC 7519 §6). Later checks also refuse these tokens; these tests pin the parser's own refusal so that a
/// change to either layer cannot silently lose both. Both parse paths (single-pass and the reference) are checked.
/// </summary>
public sealed class JwtParserRefusalTests
{
    private static readonly string Payload = B64("{\"iss\":\"https://idp.example.com/\",\"sub\":\"alice\",\"exp\":1900000000}");
    private static readonly string Signature = B64(new string('s', 64));

    public static TheoryData<string, string> Refusals() => new()
    {
        { B64("{\"alg\":\"none\"}") + "." + Payload + "." + Signature, ReasonCodes.TokenAlgorithmNotAllowed },
        { B64("{\"alg\":\"NONE\"}") + "." + Payload + "." + Signature, ReasonCodes.TokenAlgorithmNotAllowed },
        { B64("{\"alg\":\"nOnE\",\"kid\":\"k1\"}") + "." + Payload + "." + Signature, ReasonCodes.TokenAlgorithmNotAllowed },
        { B64("{\"kid\":\"k1\",\"alg\":\"none\",\"typ\":\"at+jwt\"}") + "." + Payload + "." + Signature, ReasonCodes.TokenAlgorithmNotAllowed },
        { B64("{\"kid\":\"k1\"}") + "." + Payload + "." + Signature, ReasonCodes.TokenMalformed },
        { B64("{\"alg\":\"RS256\"}") + "." + Payload + ".", ReasonCodes.TokenSignatureInvalid },
        { B64("{\"alg\":\"none\"}") + "." + Payload + ".", ReasonCodes.TokenSignatureInvalid },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Parse_RefusesWithItsOwnReason_OnBothPaths(string token, string reason)
    {
        Assert.Equal(2, JwtParser.CountDots(token, out var first, out var second));
        foreach (var singlePass in new[] { true, false })
        {
            var parsed = JwtParser.Parse(token, first, second, singlePass);
            Assert.False(parsed.Ok);
            Assert.Equal(reason, parsed.Reason);
        }
    }

    [Fact]
    public void Parse_AcceptsTheSameHeaderWithARealAlgorithm()
    {
        // The control case: only alg differs from the first refusal, so the refusals above are about alg alone.
        var token = B64("{\"alg\":\"RS256\"}") + "." + Payload + "." + Signature;
        Assert.Equal(2, JwtParser.CountDots(token, out var first, out var second));
        var parsed = JwtParser.Parse(token, first, second);
        Assert.True(parsed.Ok, parsed.Detail);
        Assert.Equal("RS256", parsed.Alg);
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
