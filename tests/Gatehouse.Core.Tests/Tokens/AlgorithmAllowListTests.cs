using Gatehouse.Tokens;
using Gatehouse.Model;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The per-issuer algorithm allow-list (RFC 8725 §3.1), pinned independently of the <c>AlgNotInAllowList</c> case of
/// <see cref="JwtValidationTests"/>: a token signed by a key the issuer publishes, with a valid signature, is still
/// refused when its <c>alg</c> is not listed, even within the same key family; names are compared exactly
/// (RFC 7515 §4.1.1); <c>none</c> in a configured list never enables unsigned tokens.
/// </summary>
public sealed class AlgorithmAllowListTests
{
    private static async Task<TokenResult> AuthAsync(IReadOnlyList<string> algorithms, Func<TokenTestContext, string> token)
    {
        await using var ctx = await TokenTestContext.CreateAsync(c => c with { Algorithms = algorithms });
        return await ctx.AuthenticateAsync(token(ctx));
    }

    [Theory]
    [InlineData("RS256", "PS256")] // same RSA key, another padding
    [InlineData("PS256", "RS256")]
    [InlineData("RS256", "RS512")] // same key, another hash
    [InlineData("ES384", "ES256")]
    public async Task ValidSignature_WithAnUnlistedAlgorithm_IsRefused(string allowed, string used)
    {
        var result = await AuthAsync([allowed], c => TestTokens.Sign(used.StartsWith('E') ? c.Ec : c.Rsa, TestTokens.Claims(c.Now), used));

        Assert.False(result.Succeeded);
        Assert.Equal(ReasonCodes.TokenAlgorithmNotAllowed, result.Reason);
    }

    [Fact]
    public async Task ListedAlgorithm_IsAccepted_TheSameTokenOtherwiseRefused()
    {
        Assert.True((await AuthAsync(["PS256"], c => TestTokens.Sign(c.Rsa, TestTokens.Claims(c.Now), "PS256"))).Succeeded);
        Assert.Equal(ReasonCodes.TokenAlgorithmNotAllowed, (await AuthAsync(["PS384"], c => TestTokens.Sign(c.Rsa, TestTokens.Claims(c.Now), "PS256"))).Reason);
    }

    [Fact]
    public async Task AlgorithmNames_AreComparedExactly()
    {
        var result = await AuthAsync(["rs256"], c => TestTokens.Sign(c.Rsa, TestTokens.Claims(c.Now)));

        Assert.Equal(ReasonCodes.TokenAlgorithmNotAllowed, result.Reason);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("None")]
    public async Task NoneInTheConfiguredList_NeverAcceptsAnUnsignedToken(string none)
    {
        var result = await AuthAsync(["RS256", none], c => TestKey.B64($$"""{"alg":"{{none}}"}""") + "." + TestKey.B64(TestTokens.Claims(c.Now).ToJsonString()) + ".AAAA");

        Assert.False(result.Succeeded);
        Assert.Equal(ReasonCodes.TokenAlgorithmNotAllowed, result.Reason);
    }
}
