using Gatehouse.Model;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// Every asymmetric algorithm Gatehouse allows verifies with a key of its own type, curve and hash (RFC 7518 §3.3–3.5),
/// and a key of another curve, or an ECDSA signature of another length, is refused. Mutation testing found the
/// 384- and 512-bit rows of the algorithm tables pinned by no test: only RS256, PS256 and ES256 tokens were ever
/// verified.
/// </summary>
public sealed class EveryAlgorithmTests
{
    private static readonly Lazy<TestKey> s_p384 = new(() => TestKey.Ec("ec-384", "ES384"));
    private static readonly Lazy<TestKey> s_p521 = new(() => TestKey.Ec("ec-521", "ES512"));

    [Theory]
    [InlineData("RS256")]
    [InlineData("RS384")]
    [InlineData("RS512")]
    [InlineData("PS256")]
    [InlineData("PS384")]
    [InlineData("PS512")]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    public async Task EachAlgorithm_VerifiesWithAKeyOfItsOwnKind(string alg)
    {
        await using var ctx = await TokenTestContext.CreateAsync(null, s_p384.Value, s_p521.Value);
        var key = KeyFor(ctx, alg);

        var result = await ctx.AuthenticateAsync(TestTokens.Sign(key, TestTokens.Claims(ctx.Now), alg));

        Assert.True(result.Succeeded, result.ToString());
    }

    [Theory]
    [InlineData("ES384", "ec-1")]
    [InlineData("ES512", "ec-384")]
    [InlineData("ES256", "ec-521")]
    public async Task AnEcdsaAlgorithm_RefusesAKeyOnAnotherCurve(string alg, string kid)
    {
        // The token is signed correctly by the named key, but with the hash of another algorithm's curve.
        await using var ctx = await TokenTestContext.CreateAsync(null, s_p384.Value, s_p521.Value);
        var key = kid switch { "ec-1" => ctx.Ec, "ec-384" => s_p384.Value, _ => s_p521.Value };

        var result = await ctx.AuthenticateAsync(TestTokens.Sign(key, TestTokens.Claims(ctx.Now), alg));

        Assert.Equal(ReasonCodes.TokenKeyAlgorithmMismatch, result.Reason);
    }

    [Theory]
    [InlineData("ES256", -1)]
    [InlineData("ES384", -1)]
    [InlineData("ES512", -1)]
    [InlineData("ES384", 1)]
    public async Task AnEcdsaSignatureOfAnotherLength_IsRefused(string alg, int delta)
    {
        // RFC 7518 §3.4: the signature is R || S, each exactly the curve's size (32, 48 or 66 octets).
        await using var ctx = await TokenTestContext.CreateAsync(null, s_p384.Value, s_p521.Value);
        var key = KeyFor(ctx, alg);
        var token = TestTokens.Sign(key, TestTokens.Claims(ctx.Now), alg);
        var dot = token.LastIndexOf('.');
        var signature = Convert.FromBase64String(Pad(token[(dot + 1)..].Replace('-', '+').Replace('_', '/')));
        var resized = new byte[signature.Length + delta];
        Array.Copy(signature, resized, Math.Min(signature.Length, resized.Length));

        var result = await ctx.AuthenticateAsync(token[..(dot + 1)] + TestKey.B64(resized));

        Assert.False(result.Succeeded);
        Assert.Equal(ReasonCodes.TokenSignatureInvalid, result.Reason);
    }

    private static TestKey KeyFor(TokenTestContext ctx, string alg) => alg switch
    {
        "ES384" => s_p384.Value,
        "ES512" => s_p521.Value,
        "ES256" => ctx.Ec,
        _ => ctx.Rsa,
    };

    private static string Pad(string base64) => base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
}
