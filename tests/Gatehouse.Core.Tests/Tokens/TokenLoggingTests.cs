using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Tokens;

public sealed class TokenLoggingTests
{
    [Fact]
    public async Task UnsupportedKeys_LogWarning1102_PerSkippedKey()
    {
        var logs = new TestLoggerFactory();
        var dir = Directory.CreateTempSubdirectory("gh-log-");
        var file = Path.Combine(dir.FullName, "jwks.json");
        var good = TestKey.Ec("good");
        await File.WriteAllTextAsync(file, new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject { ["kty"] = "oct", ["k"] = "AAAA" }, new JsonObject { ["kty"] = "OKP", ["crv"] = "X25519", ["x"] = "AAAA" }, good.Jwk()),
        }.ToJsonString());
        using var http = new HttpClient();
        await using var issuer = new IssuerRuntime(new IssuerConfig { Name = "l", Issuer = "https://l/", JwksFile = file, Audiences = ["a"] }, http, new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero)), logs);
        await issuer.StartAsync(CancellationToken.None);
        Assert.Equal(1, issuer.KeyState.KeyCount);
        Assert.Equal(2, logs.Count(1102));
        Assert.Equal(1, logs.Count(1100));
        dir.Delete(true);
    }

    [Fact]
    public async Task Rejections_LogFingerprintNeverTheToken()
    {
        var logs = new TestLoggerFactory();
        await using var ctx = await TokenTestContext.CreateAsync();
        var auth = new TokenAuthenticator(ctx.Time, logs);
        var claims = TestTokens.Claims(ctx.Now, TimeSpan.FromMinutes(-10));
        var token = TestTokens.Sign(ctx.Rsa, claims);
        var result = await auth.AuthenticateAsync(token, [ctx.Issuer], default);
        Assert.False(result.Succeeded);
        Assert.Equal(1, logs.Count(1150));
        Assert.All(logs.Records, r =>
        {
            Assert.DoesNotContain(token, r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(token.Split('.')[2], r.Message, StringComparison.Ordinal);
        });
        Assert.Contains(logs.Records, r => r.Message.Contains(TokenFingerprint.Compute(token), StringComparison.Ordinal));
    }
}
