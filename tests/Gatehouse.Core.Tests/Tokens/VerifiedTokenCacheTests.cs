using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Cache;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Tests.Tokens;

public sealed class VerifiedTokenCacheTests
{
    [Fact]
    public async Task RepeatToken_ServedFromCache_SameInstance()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var token = TestTokens.Sign(ctx.Rsa, TestTokens.Claims(ctx.Now));
        var a = await ctx.AuthenticateAsync(token);
        var b = await ctx.AuthenticateAsync(token);
        Assert.True(b.Succeeded);
        Assert.Same(a.Token, b.Token);
        Assert.Equal(1, ctx.Authenticator.VerifiedCacheCount);
    }

    [Fact]
    public async Task Entry_ExpiresWithToken()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var token = TestTokens.Sign(ctx.Rsa, TestTokens.Claims(ctx.Now, TimeSpan.FromSeconds(60)));
        Assert.True((await ctx.AuthenticateAsync(token)).Succeeded);
        ctx.Time.Advance(TimeSpan.FromSeconds(89)); // exp + skew (30 s) not reached
        Assert.True((await ctx.AuthenticateAsync(token)).Succeeded);
        ctx.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ReasonCodes.TokenExpired, (await ctx.AuthenticateAsync(token)).Reason);
    }

    [Fact]
    public async Task Entry_OnlyForItsIssuer()
    {
        await using var a = await TokenTestContext.CreateAsync();
        await using var b = await TokenTestContext.CreateAsync(x => x with { Name = "b", Issuer = "https://b.test/" });
        var token = TestTokens.Sign(a.Rsa, TestTokens.Claims(a.Now));
        Assert.True((await a.Authenticator.AuthenticateAsync(token, [a.Issuer], default)).Succeeded);
        var other = await a.Authenticator.AuthenticateAsync(token, [b.Issuer], default);
        Assert.Equal(ReasonCodes.TokenIssuerUnknown, other.Reason);
    }

    [Fact]
    public async Task Bounded_TrimsBeyondCapacity()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var auth = new TokenAuthenticator(ctx.Time, NullLoggerFactory.Instance, verifiedCacheCapacity: 20);
        for (var i = 0; i < 50; i++)
        {
            var token = TestTokens.Sign(ctx.Ec, TestTokens.Claims(ctx.Now));
            Assert.True((await auth.AuthenticateAsync(token, [ctx.Issuer], default)).Succeeded);
        }

        Assert.InRange(auth.VerifiedCacheCount, 1, 20);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.e30.sig")]
    public void Fingerprint_IsFirst16HexOfSha256(string token)
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..16];
        Assert.Equal(expected, TokenFingerprint.Compute(token));
    }

    [Fact]
    public void Fingerprint_LargeToken_PooledPath()
    {
        var token = new string('a', 20_000) + "é";
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..16];
        Assert.Equal(expected, TokenFingerprint.Compute(token));
    }

    [Fact]
    public void Hash256_ComparesAll32Bytes()
    {
        var a = new byte[32];
        var b = new byte[32];
        b[31] = 1;
        Assert.NotEqual(new Hash256(a), new Hash256(b));
        Assert.Equal(new Hash256(a).GetHashCode(), new Hash256(b).GetHashCode()); // same first 8 bytes: only Equals tells them apart
        Assert.Equal(new Hash256(a), new Hash256(a.ToArray()));
    }

    [Fact]
    public async Task CacheHit_AllocatesNothing()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var token = TestTokens.Sign(ctx.Rsa, TestTokens.Claims(ctx.Now, TimeSpan.FromHours(1)));
        IReadOnlyList<IssuerRuntime> candidates = [ctx.Issuer];
        Assert.True((await ctx.Authenticator.AuthenticateAsync(token, candidates, default)).Succeeded);
        for (var i = 0; i < 100; i++)
        {
            Hit(ctx.Authenticator, token, candidates);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Hit(ctx.Authenticator, token, candidates);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void Hit(TokenAuthenticator auth, string token, IReadOnlyList<IssuerRuntime> candidates)
    {
        var vt = auth.AuthenticateAsync(token, candidates, default);
        if (!vt.IsCompletedSuccessfully || !vt.Result.Succeeded)
        {
            throw new InvalidOperationException("expected a synchronous cache hit");
        }
    }

    [Fact]
    public async Task FuzzedTokens_NeverThrow_NeverSucceed()
    {
        // Seeded mutation loop (SharpFuzz is not available): flip, drop and insert characters of a valid token.
        await using var ctx = await TokenTestContext.CreateAsync();
        var valid = TestTokens.Sign(ctx.Ec, TestTokens.Claims(ctx.Now, TimeSpan.FromHours(1)));
        var seeds = new[] { valid, TestTokens.Sign(ctx.Rsa, new JsonObject { ["iss"] = TestTokens.Issuer, ["aud"] = new JsonArray("orders", new JsonObject()) }) };
        var random = new Random(7515);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"";
        for (var i = 0; i < 3000; i++)
        {
            var chars = seeds[i % seeds.Length].ToCharArray().ToList();
            var edits = 1 + random.Next(4);
            for (var e = 0; e < edits && chars.Count > 0; e++)
            {
                var at = random.Next(chars.Count);
                switch (random.Next(3))
                {
                    case 0: chars[at] = alphabet[random.Next(alphabet.Length)]; break;
                    case 1: chars.RemoveAt(at); break;
                    default: chars.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                }
            }

            var mutated = new string([.. chars]);
            if (mutated == seeds[i % seeds.Length])
            {
                continue;
            }

            var result = await ctx.AuthenticateAsync(mutated);
            if (result.Succeeded)
            {
                // Only a mutation that leaves header, payload and signature bytes identical could succeed — impossible
                // with canonical base64url, so any success is a bug.
                Assert.Fail($"mutation {i} was accepted");
            }

            Assert.NotNull(result.Reason);
        }
    }
}
