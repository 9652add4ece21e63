using Gatehouse.Model;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The exact edges of the lifetime checks with the issuer's clock skew (RFC 7519 §4.1.5, §4.1.6; 30 s by default):
/// a token whose <c>nbf</c> or <c>iat</c> lies exactly one skew ahead is still accepted, one second more is refused.
/// Stryker found both comparisons unpinned at the edge (<c>&lt;</c> → <c>&lt;=</c> and <c>&gt;</c> → <c>&gt;=</c> survived).
/// </summary>
public sealed class TokenLifetimeBoundaryTests
{
    [Theory]
    [InlineData(30, null)]
    [InlineData(31, ReasonCodes.TokenNotYetValid)]
    public async Task Nbf_ExactlyOneSkewAhead_IsAccepted(int secondsAhead, string? reason)
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var claims = TestTokens.Claims(ctx.Now);
        claims["nbf"] = ctx.Now.AddSeconds(secondsAhead).ToUnixTimeSeconds();

        var result = await ctx.AuthenticateAsync(TestTokens.Sign(ctx.Rsa, claims));

        Assert.Equal(reason, result.Reason);
        Assert.Equal(reason is null, result.Succeeded);
    }

    [Theory]
    [InlineData(30, null)]
    [InlineData(31, ReasonCodes.TokenIssuedInFuture)]
    public async Task Iat_ExactlyOneSkewAhead_IsAccepted(int secondsAhead, string? reason)
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var claims = TestTokens.Claims(ctx.Now);
        claims["iat"] = ctx.Now.AddSeconds(secondsAhead).ToUnixTimeSeconds();

        var result = await ctx.AuthenticateAsync(TestTokens.Sign(ctx.Rsa, claims));

        Assert.Equal(reason, result.Reason);
        Assert.Equal(reason is null, result.Succeeded);
    }
}
