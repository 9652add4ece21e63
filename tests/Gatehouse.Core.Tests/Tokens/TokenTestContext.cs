using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Tokens;

/// <summary>One issuer backed by a JWKS file in a temp folder, a manual clock and an authenticator.</summary>
public sealed class TokenTestContext : IAsyncDisposable
{
    private TokenTestContext(string dir, IssuerConfig config, FakeTimeProvider time)
    {
        Directory = dir;
        Config = config;
        Time = time;
        Http = new HttpClient();
        Issuer = new IssuerRuntime(config, Http, time, NullLoggerFactory.Instance);
        Authenticator = new TokenAuthenticator(time, NullLoggerFactory.Instance);
    }

    public string Directory { get; }
    public IssuerConfig Config { get; }
    public FakeTimeProvider Time { get; }
    public HttpClient Http { get; }
    public IssuerRuntime Issuer { get; }
    public TokenAuthenticator Authenticator { get; }
    public TestKey Rsa { get; private set; } = null!;
    public TestKey Ec { get; private set; } = null!;

    // Note: RSA key generation is slow on shared CI cores; the rule tests share one key pair per type.
    private static readonly Lazy<TestKey> s_rsa = new(() => TestKey.Rsa("rsa-1"));
    private static readonly Lazy<TestKey> s_ec = new(() => TestKey.Ec("ec-1"));

    public static readonly IReadOnlyList<string> AllAsymmetric = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    public static async Task<TokenTestContext> CreateAsync(Func<IssuerConfig, IssuerConfig>? configure = null, params TestKey[] extraKeys)
    {
        var dir = Path.Combine(Path.GetTempPath(), "gh-tokens-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        var rsa = s_rsa.Value;
        var ec = s_ec.Value;
        var jwksPath = Path.Combine(dir, "jwks.json");
        await File.WriteAllTextAsync(jwksPath, TestKey.Jwks([rsa, ec, .. extraKeys]));
        var config = new IssuerConfig
        {
            Name = "corp",
            Issuer = TestTokens.Issuer,
            JwksFile = jwksPath,
            Audiences = [TestTokens.Audience, "billing"],
            Algorithms = AllAsymmetric,
        };
        config = configure?.Invoke(config) ?? config;
        var ctx = new TokenTestContext(dir, config, new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero))) { Rsa = rsa, Ec = ec };
        await ctx.Issuer.StartAsync(CancellationToken.None);
        return ctx;
    }

    public DateTimeOffset Now => Time.GetUtcNow();

    public ValueTask<TokenResult> AuthenticateAsync(string token) => Authenticator.AuthenticateAsync(token, [Issuer], CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await Issuer.DisposeAsync();
        Http.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, true);
        }
        catch (IOException)
        {
        }
    }
}
