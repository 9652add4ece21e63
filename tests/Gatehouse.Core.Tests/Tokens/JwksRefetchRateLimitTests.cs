using Gatehouse.Configuration;
using Gatehouse.Model;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The rate limit on JWKS re-fetches for unknown kids (design.md, security invariants), pinned independently of the
/// concurrent-storm test in <see cref="JwksLifecycleTests"/>: sequential unknown kids, the exact boundary of
/// <c>min_refresh_interval</c>, a real rotation that stays invisible until the interval has passed, and known kids
/// that never cause a fetch.
/// </summary>
public sealed class JwksRefetchRateLimitTests : IAsyncLifetime
{
    private static readonly Lazy<TestKey> s_k1 = new(() => TestKey.Rsa("rl-k1"));
    private static readonly Lazy<TestKey> s_k2 = new(() => TestKey.Ec("rl-k2"));
    private static readonly TimeSpan s_minInterval = TimeSpan.FromSeconds(30);

    private readonly FakeIdp _idp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero));
    private readonly HttpClient _http = new();
    private IssuerRuntime _issuer = null!;
    private TokenAuthenticator _auth = null!;

    public async Task InitializeAsync()
    {
        _idp.Keys = [s_k1.Value];
        var config = new IssuerConfig
        {
            Name = "idp",
            Issuer = _idp.Issuer,
            JwksUri = _idp.JwksUri,
            Audiences = ["orders"],
            Algorithms = ["RS256", "ES256"],
            Keys = new KeyRefreshConfig { RefreshInterval = TimeSpan.FromHours(1), MinRefreshInterval = s_minInterval, MaxStale = TimeSpan.FromHours(2), FetchTimeout = TimeSpan.FromSeconds(5) },
        };
        _issuer = new IssuerRuntime(config, _http, _time, NullLoggerFactory.Instance);
        await _issuer.StartAsync(CancellationToken.None);
        _auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
    }

    public async Task DisposeAsync()
    {
        await _issuer.DisposeAsync();
        _http.Dispose();
        await _idp.DisposeAsync();
    }

    private string Token(TestKey key, string? kid = null)
    {
        var claims = TestTokens.Claims(_time.GetUtcNow());
        claims["iss"] = _idp.Issuer;
        claims["aud"] = "orders";
        return TestTokens.Sign(key, claims, header: kid is null ? null : h => h["kid"] = kid);
    }

    private async Task<TokenResult> AuthAsync(string token) => await _auth.AuthenticateAsync(token, [_issuer], CancellationToken.None);

    [Fact]
    public async Task SequentialUnknownKids_OneFetch_UntilTheIntervalHasPassed_ThenExactlyOneMore()
    {
        var start = _idp.JwksFetches;
        var attacker = TestKey.Rsa("rl-attacker");

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(ReasonCodes.TokenKeyUnknown, (await AuthAsync(Token(attacker, "kid-" + i))).Reason);
            _time.Advance(TimeSpan.FromSeconds(2)); // 18 s in all: still inside the interval
        }

        Assert.Equal(start + 1, _idp.JwksFetches);

        _time.Advance(s_minInterval - TimeSpan.FromSeconds(20) - TimeSpan.FromTicks(1)); // 1 tick short of the interval
        await AuthAsync(Token(attacker, "kid-late"));
        Assert.Equal(start + 1, _idp.JwksFetches);

        _time.Advance(TimeSpan.FromTicks(1)); // exactly min_refresh_interval after the last on-demand fetch
        await AuthAsync(Token(attacker, "kid-boundary"));
        Assert.Equal(start + 2, _idp.JwksFetches);
    }

    [Fact]
    public async Task RotatedKey_IsInvisibleWhileRateLimited_AndAcceptedOnceTheIntervalHasPassed()
    {
        // A first unknown kid spends the on-demand fetch.
        await AuthAsync(Token(TestKey.Rsa("rl-other"), "unrelated"));
        _idp.Keys = [s_k1.Value, s_k2.Value];

        var early = await AuthAsync(Token(s_k2.Value));
        Assert.False(early.Succeeded);
        Assert.Equal(ReasonCodes.TokenKeyUnknown, early.Reason);
        Assert.False(early.Unavailable);

        _time.Advance(s_minInterval);
        var later = await AuthAsync(Token(s_k2.Value));
        Assert.True(later.Succeeded, later.ToString());
    }

    [Fact]
    public async Task KnownKids_NeverCauseAFetch()
    {
        var start = _idp.JwksFetches;

        for (var i = 0; i < 20; i++)
        {
            Assert.True((await AuthAsync(Token(s_k1.Value))).Succeeded);
            _time.Advance(TimeSpan.FromSeconds(31));
        }

        Assert.Equal(start, _idp.JwksFetches);
    }
}
