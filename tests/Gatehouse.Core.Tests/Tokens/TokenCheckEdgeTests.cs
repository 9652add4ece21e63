using Gatehouse.Configuration;
using Gatehouse.Model;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The exact edges of token checks that survived mutation testing (docs/security.md, "Mutation testing", the
/// tokens-checks set): each limit accepts its own value and refuses one more, so a <c>&gt;</c> turned <c>&gt;=</c>
/// (or the reverse) fails here.
/// </summary>
public sealed class TokenCheckEdgeTests
{
    [Theory]
    [InlineData(0, null)]
    [InlineData(-1, ReasonCodes.TokenTooLarge)]
    public async Task MaxTokenBytes_AcceptsATokenOfExactlyThatSize(int slack, string? reason)
    {
        await using var probe = await TokenTestContext.CreateAsync();
        var token = TestTokens.Sign(probe.Rsa, TestTokens.Claims(probe.Now));
        await using var ctx = await TokenTestContext.CreateAsync(x => x with { MaxTokenBytes = token.Length + slack });

        var result = await ctx.AuthenticateAsync(token);

        Assert.Equal(reason, result.Reason);
    }

    [Theory]
    [InlineData("HS256", 32, true)]
    [InlineData("HS256", 31, false)]
    [InlineData("HS384", 48, true)]
    [InlineData("HS384", 47, false)]
    public async Task HmacSecret_OfExactlyTheHashSize_IsUsable_OneByteLessIsNot(string alg, int length, bool usable)
    {
        // RFC 7518 §3.2: "A key of the same size as the hash output … or larger MUST be used".
        var secret = new string('k', length);
        var dir = Directory.CreateTempSubdirectory("gh-hmac-edge-").FullName;
        try
        {
            var file = Path.Combine(dir, "secret");
            await File.WriteAllTextAsync(file, secret);
            await using var ctx = await TokenTestContext.CreateAsync(x => x with { HmacSecretFile = file, Algorithms = [alg] });
            var token = TestTokens.SignHmac(System.Text.Encoding.UTF8.GetBytes(secret), $"{{\"alg\":\"{alg}\"}}", TestTokens.Claims(ctx.Now).ToJsonString(), alg);

            var result = await ctx.AuthenticateAsync(token);

            Assert.Equal(usable, result.Succeeded);
            Assert.Equal(usable ? null : ReasonCodes.KeysUnavailable, result.Reason);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(300, null)]
    [InlineData(301, ReasonCodes.TxnTokenLifetimeExceeded)]
    public async Task TxnToken_LivingExactlyMaxLifetime_IsAccepted(int lifetimeSeconds, string? reason)
    {
        await using var ctx = await TxnContext();
        var claims = TxnClaims(ctx);
        claims["exp"] = ctx.Now.AddSeconds(lifetimeSeconds).ToUnixTimeSeconds();

        var result = await ctx.AuthenticateAsync(SignTxn(ctx, claims));

        Assert.Equal(reason, result.Reason);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("[\"t\"]")]
    public async Task TxnToken_WithAnEmptyOrNonStringTxn_IsRefused(string txnJson)
    {
        await using var ctx = await TxnContext();
        var claims = TxnClaims(ctx);
        claims["txn"] = System.Text.Json.Nodes.JsonNode.Parse(txnJson);

        var result = await ctx.AuthenticateAsync(SignTxn(ctx, claims));

        Assert.Equal(ReasonCodes.TxnTokenClaimMissing + ":txn", result.Reason);
    }

    [Fact]
    public async Task TxnToken_WithATxn_IsAccepted()
    {
        await using var ctx = await TxnContext();

        var result = await ctx.AuthenticateAsync(SignTxn(ctx, TxnClaims(ctx)));

        Assert.True(result.Succeeded, result.ToString());
    }

    private static Task<TokenTestContext> TxnContext() =>
        TokenTestContext.CreateAsync(x => x with { Kind = IssuerKind.TxnToken, MaxLifetime = TimeSpan.FromMinutes(5) });

    private static System.Text.Json.Nodes.JsonObject TxnClaims(TokenTestContext ctx)
    {
        var claims = TestTokens.Claims(ctx.Now, TimeSpan.FromMinutes(1));
        claims["txn"] = "97053963-771d-49cc-a4e3-20aad399c312";
        return claims;
    }

    private static string SignTxn(TokenTestContext ctx, System.Text.Json.Nodes.JsonObject claims) =>
        TestTokens.Sign(ctx.Rsa, claims, header: h => h["typ"] = "txntoken+jwt");
}
