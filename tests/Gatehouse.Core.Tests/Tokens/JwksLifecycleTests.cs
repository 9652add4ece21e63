using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Tests.Tokens;

/// <summary>Fault injection against a loopback IdP: the JWKS lifecycle through outages, rotation and bad documents.</summary>
public sealed class JwksLifecycleTests : IAsyncLifetime
{
    private static readonly Lazy<TestKey> s_k1 = new(() => TestKey.Rsa("k1"));
    private static readonly Lazy<TestKey> s_k2 = new(() => TestKey.Ec("k2"));

    private readonly FakeIdp _idp = new();
    private readonly ManualTimeProvider _time = new();
    private readonly HttpClient _http = new();
    private readonly List<IssuerRuntime> _issuers = [];

    private TestKey K1 => s_k1.Value;
    private TestKey K2 => s_k2.Value;

    public Task InitializeAsync()
    {
        _idp.Keys = [K1];
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var i in _issuers)
        {
            await i.DisposeAsync();
        }

        _http.Dispose();
        await _idp.DisposeAsync();
    }

    private IssuerConfig Config(Func<IssuerConfig, IssuerConfig>? f = null)
    {
        var c = new IssuerConfig
        {
            Name = "idp",
            Issuer = _idp.Issuer,
            Discovery = true,
            Audiences = ["orders"],
            Algorithms = ["RS256", "ES256"],
            Keys = new KeyRefreshConfig { RefreshInterval = TimeSpan.FromMinutes(5), MinRefreshInterval = TimeSpan.FromSeconds(30), MaxStale = TimeSpan.FromHours(1), FetchTimeout = TimeSpan.FromSeconds(5) },
        };
        return f?.Invoke(c) ?? c;
    }

    private async Task<IssuerRuntime> StartAsync(IssuerConfig config, TimeProvider? time = null)
    {
        var issuer = new IssuerRuntime(config, _http, time ?? _time, NullLoggerFactory.Instance);
        _issuers.Add(issuer);
        await issuer.StartAsync(CancellationToken.None);
        return issuer;
    }

    private string Token(TestKey key, Action<JsonObject>? edit = null)
    {
        var claims = TestTokens.Claims(_time.GetUtcNow());
        claims["iss"] = _idp.Issuer;
        edit?.Invoke(claims);
        return TestTokens.Sign(key, claims);
    }

    private static async Task Eventually(Func<bool> condition, Action? step = null, int timeoutMs = 15_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, "condition not reached in time");
            step?.Invoke();
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Discovery_LoadsKeysFromJwksUriInMetadata()
    {
        var issuer = await StartAsync(Config());
        Assert.True(issuer.KeysLoaded);
        Assert.Equal(1, issuer.KeyState.KeyCount);
        Assert.Equal("discovery", issuer.KeyState.Source);
        var result = await new TokenAuthenticator(_time, NullLoggerFactory.Instance).AuthenticateAsync(Token(K1), [issuer], default);
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(1, _idp.DiscoveryFetches);
        Assert.Equal(1, _idp.JwksFetches);
    }

    [Fact]
    public async Task Discovery_MetadataIssuerDiffers_KeysNeverLoaded_503()
    {
        _idp.MetadataIssuer = _idp.Issuer + "/"; // a trailing slash is a different issuer (exact match).
        var issuer = await StartAsync(Config());
        Assert.False(issuer.KeysLoaded);
        Assert.Contains("does not equal", issuer.KeyState.LastFailure, StringComparison.Ordinal);
        Assert.Equal(0, _idp.JwksFetches);
        var result = await new TokenAuthenticator(_time, NullLoggerFactory.Instance).AuthenticateAsync(Token(K1), [issuer], default);
        Assert.True(result.Unavailable);
        Assert.Equal(ReasonCodes.KeysUnavailable, result.Reason);
    }

    [Fact]
    public async Task JwksUri_LoadsKeys()
    {
        var issuer = await StartAsync(Config(c => c with { Discovery = false, JwksUri = _idp.JwksUri }));
        Assert.True(issuer.KeysLoaded);
        Assert.Equal("jwks_uri", issuer.KeyState.Source);
        Assert.Equal(0, _idp.DiscoveryFetches);
    }

    [Theory]
    [InlineData("http://example.com/jwks")]
    [InlineData("ftp://127.0.0.1/jwks")]
    [InlineData("not a url")]
    public async Task JwksUri_NotHttpsNorLoopback_Refused(string url)
    {
        var issuer = await StartAsync(Config(c => c with { Discovery = false, JwksUri = url }));
        Assert.False(issuer.KeysLoaded);
        Assert.Contains("not https", issuer.KeyState.LastFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DownAtStart_Answers503_ThenRecoversWithBackoff()
    {
        _idp.DiscoveryMode = IdpMode.Down;
        var fetched = new List<bool>();
        var issuer = new IssuerRuntime(Config(), _http, _time, NullLoggerFactory.Instance);
        _issuers.Add(issuer);
        issuer.FetchCompleted += (name, ok) => { lock (fetched) { fetched.Add(ok); } };
        await issuer.StartAsync(CancellationToken.None); // must not throw
        Assert.False(issuer.KeysLoaded);
        Assert.True(issuer.KeyState.IsExpired);
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
        var token = Token(K1);
        var down = await auth.AuthenticateAsync(token, [issuer], default);
        Assert.True(down.Unavailable);
        Assert.Equal(ReasonCodes.KeysUnavailable, down.Reason);

        _idp.DiscoveryMode = IdpMode.Ok;
        await Eventually(() => issuer.KeysLoaded, () => _time.Advance(TimeSpan.FromSeconds(2)));
        Assert.Contains(false, fetched);
        Assert.Contains(true, fetched);
        var up = await auth.AuthenticateAsync(Token(K1), [issuer], default);
        Assert.True(up.Succeeded, up.ToString());
    }

    [Fact]
    public async Task DownAfterStart_StaleKeysServe_Then503AfterMaxStale()
    {
        var issuer = await StartAsync(Config());
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
        var cached = Token(K1, c => c["exp"] = _time.GetUtcNow().AddHours(3).ToUnixTimeSeconds());
        Assert.True((await auth.AuthenticateAsync(cached, [issuer], default)).Succeeded);

        _idp.DiscoveryMode = IdpMode.Down;
        var before = _idp.DiscoveryFetches;
        // The background refresh (5 min ±10%) fails; last-good keys keep serving.
        await Eventually(() => issuer.KeyState.IsStale, () => _time.Advance(TimeSpan.FromMinutes(1)));
        Assert.True(_idp.DiscoveryFetches > before);
        var stale = await auth.AuthenticateAsync(Token(K1, c => c["exp"] = _time.GetUtcNow().AddHours(3).ToUnixTimeSeconds()), [issuer], default);
        Assert.True(stale.Succeeded, stale.ToString());
        Assert.True((await auth.AuthenticateAsync(cached, [issuer], default)).Succeeded);

        // Past max_stale (1 h since the last success): 503, for fresh and cached tokens alike.
        _time.Advance(TimeSpan.FromHours(1));
        var fresh = await auth.AuthenticateAsync(Token(K1, c => c["exp"] = _time.GetUtcNow().AddHours(3).ToUnixTimeSeconds()), [issuer], default);
        Assert.True(fresh.Unavailable);
        Assert.Equal(ReasonCodes.KeysUnavailable, fresh.Reason);
        var cachedResult = await auth.AuthenticateAsync(cached, [issuer], default);
        Assert.True(cachedResult.Unavailable);
        Assert.True(issuer.KeyState.IsExpired);
        Assert.True(issuer.KeysLoaded); // readiness reflects "loaded once"; the 503 comes from the age
    }

    [Fact]
    public async Task Slow_TimesOut_NotLoaded()
    {
        _idp.DiscoveryMode = IdpMode.Slow;
        _idp.SlowDelay = TimeSpan.FromSeconds(10);
        var started = Environment.TickCount64;
        var issuer = await StartAsync(Config(c => c with { Keys = c.Keys with { FetchTimeout = TimeSpan.FromMilliseconds(300) } }), TimeProvider.System);
        Assert.True(Environment.TickCount64 - started < 5_000, "prefetch must give up at the fetch timeout");
        Assert.False(issuer.KeysLoaded);
        Assert.Contains("timed out", issuer.KeyState.LastFailure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(IdpMode.Status500, "HTTP 500")]
    [InlineData(IdpMode.Garbage, "not a valid JSON")]
    [InlineData(IdpMode.Huge, "larger than max_document_bytes")]
    [InlineData(IdpMode.Down, "HTTP request failed")]
    public async Task BadJwks_KeysNotLoaded_Reported(IdpMode mode, string expected)
    {
        _idp.JwksMode = mode;
        var issuer = await StartAsync(Config());
        Assert.False(issuer.KeysLoaded);
        Assert.Contains(expected, issuer.KeyState.LastFailure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(IdpMode.Status500)]
    [InlineData(IdpMode.Garbage)]
    [InlineData(IdpMode.Huge)]
    public async Task BadJwksAfterStart_LastGoodKeysKept(IdpMode mode)
    {
        var issuer = await StartAsync(Config());
        _idp.JwksMode = mode;
        await Eventually(() => issuer.KeyState.IsStale, () => _time.Advance(TimeSpan.FromMinutes(1)));
        Assert.Equal(1, issuer.KeyState.KeyCount);
        var result = await new TokenAuthenticator(_time, NullLoggerFactory.Instance).AuthenticateAsync(Token(K1), [issuer], default);
        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task HugeJwks_WithoutContentLength_RejectedWhileReading()
    {
        _idp.Server.Handler = r => r.Path == "/jwks"
            ? new LoopbackResponse(200, new byte[10 * 1024 * 1024]) { OmitContentLength = true }
            : LoopbackResponse.Json($"{{\"issuer\":\"{_idp.Issuer}\",\"jwks_uri\":\"{_idp.JwksUri}\"}}");
        var issuer = await StartAsync(Config());
        Assert.False(issuer.KeysLoaded);
        Assert.Contains("larger than max_document_bytes", issuer.KeyState.LastFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotation_NewKidAcceptedAfterOneRefetch()
    {
        var issuer = await StartAsync(Config());
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
        var before = _idp.JwksFetches;
        _idp.Keys = [K1, K2];
        var result = await auth.AuthenticateAsync(Token(K2), [issuer], default);
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(before + 1, _idp.JwksFetches);
    }

    [Fact]
    public async Task UnknownKidStorm_AtMostOneFetchPerMinRefreshInterval()
    {
        var issuer = await StartAsync(Config());
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
        var before = _idp.JwksFetches;
        var attacker = TestKey.Rsa("x");
        var tokens = Enumerable.Range(0, 50).Select(i => TestTokens.Sign(attacker, TestTokens.Claims(_time.GetUtcNow()).Also(c => c["iss"] = _idp.Issuer), header: h => h["kid"] = "kid-" + i)).ToArray();

        var results = await Task.WhenAll(tokens.Select(t => auth.AuthenticateAsync(t, [issuer], default).AsTask()));
        Assert.All(results, r => Assert.Equal(ReasonCodes.TokenKeyUnknown, r.Reason));
        Assert.Equal(before + 1, _idp.JwksFetches);

        var again = await Task.WhenAll(tokens.Select(t => auth.AuthenticateAsync(t, [issuer], default).AsTask()));
        Assert.All(again, r => Assert.Equal(ReasonCodes.TokenKeyUnknown, r.Reason));
        Assert.Equal(before + 1, _idp.JwksFetches);

        _time.Advance(TimeSpan.FromSeconds(31));
        await auth.AuthenticateAsync(tokens[0], [issuer], default);
        Assert.Equal(before + 2, _idp.JwksFetches);
    }

    [Fact]
    public async Task KeyLeavesJwks_StopsValidatingAtOnce_EvenFromCache()
    {
        _idp.Keys = [K1, K2];
        var issuer = await StartAsync(Config());
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
        var token = Token(K1);
        var first = await auth.AuthenticateAsync(token, [issuer], default);
        var second = await auth.AuthenticateAsync(token, [issuer], default);
        Assert.Same(first.Token, second.Token); // served from the verified-token cache

        _idp.Keys = [K2];
        var fetches = _idp.JwksFetches;
        await Eventually(() => issuer.KeyState.KeyCount == 1 && _idp.JwksFetches > fetches, () => _time.Advance(TimeSpan.FromMinutes(1)));
        var after = await auth.AuthenticateAsync(token, [issuer], default);
        Assert.False(after.Succeeded);
        Assert.Equal(ReasonCodes.TokenKeyUnknown, after.Reason);
    }

    [Fact]
    public async Task UnsupportedKeys_SkippedWithWarning_OthersUsed()
    {
        var weak = TestKey.Rsa("weak", bits: 1024);
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(
                new JsonObject { ["kty"] = "oct", ["kid"] = "sym", ["k"] = "c2VjcmV0" },
                new JsonObject { ["kty"] = "OKP", ["crv"] = "Ed25519", ["kid"] = "ed", ["x"] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
                weak.Jwk(),
                K2.Jwk().Also(j => j["use"] = "enc").Also(j => j["kid"] = "enc"),
                new JsonObject { ["kty"] = "EC", ["crv"] = "P-192", ["kid"] = "p192", ["x"] = "AA", ["y"] = "AA" },
                new JsonObject { ["kty"] = "RSA", ["kid"] = "broken", ["n"] = "!!", ["e"] = "AQAB" },
                "not an object",
                K1.Jwk()),
        }.ToJsonString();
        var dir = Directory.CreateTempSubdirectory("gh-jwks-");
        var file = Path.Combine(dir.FullName, "jwks.json");
        await File.WriteAllTextAsync(file, jwks);
        var issuer = await StartAsync(Config(c => c with { Discovery = false, JwksFile = file }));
        Assert.True(issuer.KeysLoaded);
        Assert.Equal(1, issuer.KeyState.KeyCount);
        var result = await new TokenAuthenticator(_time, NullLoggerFactory.Instance).AuthenticateAsync(Token(K1), [issuer], default);
        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task JwksFile_ChangedOnDisk_Reloaded()
    {
        var dir = Directory.CreateTempSubdirectory("gh-jwks-");
        var file = Path.Combine(dir.FullName, "jwks.json");
        await File.WriteAllTextAsync(file, TestKey.Jwks(K1));
        // A large min_refresh_interval: only the watcher can pick up the change quickly.
        var issuer = await StartAsync(Config(c => c with { Discovery = false, JwksFile = file, Keys = c.Keys with { MinRefreshInterval = TimeSpan.FromDays(1) } }));
        Assert.Equal(1, issuer.KeyState.KeyCount);
        await File.WriteAllTextAsync(file, TestKey.Jwks(K1, K2));
        await Eventually(() => issuer.KeyState.KeyCount == 2);
    }

    [Fact]
    public async Task JwksFile_Missing_NotLoaded()
    {
        var issuer = await StartAsync(Config(c => c with { Discovery = false, JwksFile = "/nonexistent/jwks.json" }));
        Assert.False(issuer.KeysLoaded);
        Assert.Contains("does not exist", issuer.KeyState.LastFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_RevokesKeys_CachedTokensStop()
    {
        var issuer = new IssuerRuntime(Config(), _http, _time, NullLoggerFactory.Instance);
        await issuer.StartAsync(CancellationToken.None);
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
        var token = Token(K1);
        Assert.True((await auth.AuthenticateAsync(token, [issuer], default)).Succeeded);
        await issuer.DisposeAsync();
        Assert.False((await auth.AuthenticateAsync(token, [issuer], default)).Succeeded);
    }
}

internal static class TestExtensions
{
    public static T Also<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}
