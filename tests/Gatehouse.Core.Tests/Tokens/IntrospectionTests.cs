using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Tests.Tokens;

/// <summary>RFC 7662 introspection against a loopback authorization server.</summary>
public sealed class IntrospectionTests : IAsyncLifetime
{
    private readonly FakeIdp _idp = new();
    private readonly ManualTimeProvider _time = new();
    private readonly HttpClient _http = new();
    private readonly List<IssuerRuntime> _issuers = [];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gh-introspect-");
    private readonly List<(string Issuer, bool Hit)> _lookups = [];
    private TokenAuthenticator _auth = null!;
    private string _secretFile = null!;

    public async Task InitializeAsync()
    {
        _secretFile = Path.Combine(_dir.FullName, "secret");
        await File.WriteAllTextAsync(_secretFile, "s3:cr+t% é\n");
        _auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);
        _auth.IntrospectionCacheLookup += (i, hit) => { lock (_lookups) { _lookups.Add((i, hit)); } };
        _idp.Introspect = token => token.StartsWith("good", StringComparison.Ordinal)
            ? new JsonObject { ["active"] = true, ["iss"] = _idp.Issuer, ["sub"] = "svc", ["aud"] = "orders", ["jti"] = "j-" + token, ["exp"] = _time.GetUtcNow().AddHours(1).ToUnixTimeSeconds(), ["scope"] = "orders.read" }
            : new JsonObject { ["active"] = false };
    }

    public async Task DisposeAsync()
    {
        foreach (var i in _issuers)
        {
            await i.DisposeAsync();
        }

        _http.Dispose();
        await _idp.DisposeAsync();
        _dir.Delete(true);
    }

    private IssuerRuntime Issuer(Func<IntrospectionConfig, IntrospectionConfig>? f = null, TimeProvider? time = null, CircuitBreakerConfig? breaker = null)
    {
        var introspection = new IntrospectionConfig
        {
            Endpoint = _idp.IntrospectionUri,
            ClientId = "my client",
            ClientSecretFile = _secretFile,
            CacheTtl = TimeSpan.FromSeconds(60),
            NegativeCacheTtl = TimeSpan.FromSeconds(10),
            Timeout = TimeSpan.FromSeconds(5),
        };
        var issuer = new IssuerRuntime(
            new IssuerConfig
            {
                Name = "as",
                Issuer = _idp.Issuer,
                Audiences = ["orders"],
                Introspection = f?.Invoke(introspection) ?? introspection,
                CircuitBreaker = breaker ?? new CircuitBreakerConfig(),
            },
            _http, time ?? _time, NullLoggerFactory.Instance);
        _issuers.Add(issuer);
        return issuer;
    }

    private ValueTask<TokenResult> Auth(string token, IssuerRuntime issuer) => _auth.AuthenticateAsync(token, [issuer], default);

    [Fact]
    public async Task Active_Succeeds_WithClaimsAndFacts()
    {
        var issuer = Issuer();
        Assert.True(issuer.KeysLoaded); // introspection-only issuers are ready at once
        var result = await Auth("good-1", issuer);
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("opaque", result.Token!.Facts.Kind);
        Assert.Equal("j-good-1", result.Token.Facts.Jti);
        Assert.Equal(TokenFingerprint.Compute("good-1"), result.Token.Facts.Fingerprint);
        Assert.Equal("svc", result.Token.Claims.GetProperty("sub").GetString());
        Assert.Same(issuer, result.Token.Issuer);
    }

    [Fact]
    public async Task ClientSecretBasic_FormUrlEncodesIdAndSecretBeforeBase64()
    {
        await Auth("good-basic", Issuer());
        var request = Assert.Single(_idp.Server.Requests, r => r.Path == "/introspect");
        Assert.Equal("POST", request.Method);
        // RFC 6749 §2.3.1 + Appendix B: "my client" → my+client; "s3:cr+t% é" → s3%3Acr%2Bt%25+%C3%A9
        var expected = Convert.ToBase64String(Encoding.UTF8.GetBytes("my+client:s3%3Acr%2Bt%25+%C3%A9"));
        Assert.Equal("Basic " + expected, request.Headers["Authorization"]);
        Assert.StartsWith("application/x-www-form-urlencoded", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Contains("token=good-basic", request.Body, StringComparison.Ordinal);
        Assert.Contains("token_type_hint=access_token", request.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("client_secret", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientSecretPost_SendsCredentialsInBody()
    {
        await Auth("good-post", Issuer(c => c with { AuthMethod = "client_secret_post" }));
        var request = Assert.Single(_idp.Server.Requests, r => r.Path == "/introspect");
        Assert.False(request.Headers.ContainsKey("Authorization"));
        Assert.Contains("client_id=my+client", request.Body, StringComparison.Ordinal);
        Assert.Contains("client_secret=s3%3Acr%2Bt%25+%C3%A9", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretFile_ReReadOnChange()
    {
        var issuer = Issuer();
        await Auth("good-a", issuer);
        await File.WriteAllTextAsync(_secretFile, "rotated-secret-value");
        File.SetLastWriteTimeUtc(_secretFile, DateTime.UtcNow.AddSeconds(5));
        await Auth("good-b", issuer);
        var last = _idp.Server.Requests.Last(r => r.Path == "/introspect");
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("my+client:rotated-secret-value")), last.Headers["Authorization"]);
    }

    [Fact]
    public async Task Cached_WithinTtl_OneRequest_MetricEventReportsHit()
    {
        var issuer = Issuer();
        Assert.True((await Auth("good-c", issuer)).Succeeded);
        Assert.True((await Auth("good-c", issuer)).Succeeded);
        Assert.Equal(1, _idp.Introspections);
        Assert.Equal([("as", false), ("as", true)], _lookups);
    }

    [Fact]
    public async Task CacheTtl_IsMinOfConfiguredAndExp()
    {
        _idp.Introspect = _ => new JsonObject { ["active"] = true, ["exp"] = _time.GetUtcNow().AddSeconds(10).ToUnixTimeSeconds() };
        var issuer = Issuer();
        await Auth("good-short", issuer);
        _time.Advance(TimeSpan.FromSeconds(9));
        await Auth("good-short", issuer);
        Assert.Equal(1, _idp.Introspections);
        _time.Advance(TimeSpan.FromSeconds(2)); // past exp (10 s) though cache_ttl is 60 s
        await Auth("good-short", issuer);
        Assert.Equal(2, _idp.Introspections);
    }

    [Fact]
    public async Task Revocation_HonouredWithinCacheTtl()
    {
        var issuer = Issuer();
        Assert.True((await Auth("good-r", issuer)).Succeeded);
        _idp.Introspect = _ => new JsonObject { ["active"] = false }; // revoked at the AS
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.True((await Auth("good-r", issuer)).Succeeded); // still inside cache_ttl
        _time.Advance(TimeSpan.FromSeconds(2));
        var revoked = await Auth("good-r", issuer);
        Assert.False(revoked.Succeeded);
        Assert.False(revoked.Unavailable);
        Assert.Equal(ReasonCodes.TokenInactive, revoked.Reason);
    }

    [Fact]
    public async Task Inactive_NegativelyCached()
    {
        var issuer = Issuer();
        Assert.Equal(ReasonCodes.TokenInactive, (await Auth("bad-1", issuer)).Reason);
        Assert.Equal(ReasonCodes.TokenInactive, (await Auth("bad-1", issuer)).Reason);
        Assert.Equal(1, _idp.Introspections);
        _time.Advance(TimeSpan.FromSeconds(11));
        await Auth("bad-1", issuer);
        Assert.Equal(2, _idp.Introspections);
    }

    [Fact]
    public async Task SingleFlight_ConcurrentSameToken_OneRequest()
    {
        _idp.IntrospectionMode = IdpMode.Slow;
        _idp.SlowDelay = TimeSpan.FromMilliseconds(300);
        var issuer = Issuer();
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Auth("good-sf", issuer).AsTask()));
        Assert.All(results, r => Assert.True(r.Succeeded, r.ToString()));
        Assert.Equal(1, _idp.Introspections);
    }

    [Theory]
    [InlineData(IdpMode.Down)]
    [InlineData(IdpMode.Status500)]
    [InlineData(IdpMode.Garbage)]
    public async Task EndpointFailing_Unavailable_NeverAllow(IdpMode mode)
    {
        _idp.IntrospectionMode = mode;
        var result = await Auth("good-down", Issuer());
        Assert.False(result.Succeeded);
        Assert.True(result.Unavailable);
        Assert.Equal(ReasonCodes.IntrospectionUnavailable, result.Reason);
    }

    [Fact]
    public async Task EndpointDown_CircuitOpens_NoMoreRequests()
    {
        _idp.IntrospectionMode = IdpMode.Status500;
        var issuer = Issuer();
        var completed = new List<(string, bool)>();
        issuer.IntrospectionCompleted += (n, ok) => { lock (completed) { completed.Add((n, ok)); } };
        for (var i = 0; i < 6; i++)
        {
            Assert.True((await Auth("good-cb-" + i, issuer)).Unavailable);
        }

        var calls = _idp.Introspections;
        Assert.Equal(calls, completed.Count);
        Assert.All(completed, c => Assert.Equal(("as", false), c));
        Assert.True(calls < 6, $"circuit breaker should have opened, saw {calls} calls");
        var open = await Auth("good-cb-x", issuer);
        Assert.True(open.Unavailable);
        Assert.Contains("circuit open", open.Detail, StringComparison.Ordinal);
        Assert.Equal(calls, _idp.Introspections);

        _idp.IntrospectionMode = IdpMode.Ok;
        _time.Advance(TimeSpan.FromSeconds(16)); // break duration
        Assert.True((await Auth("good-cb-y", issuer)).Succeeded);
    }

    [Fact]
    public async Task Slow_TimesOut_Unavailable()
    {
        _idp.IntrospectionMode = IdpMode.Slow;
        _idp.SlowDelay = TimeSpan.FromSeconds(10);
        var result = await Auth("good-slow", Issuer(c => c with { Timeout = TimeSpan.FromMilliseconds(300) }, TimeProvider.System));
        Assert.True(result.Unavailable);
        Assert.Contains("timed out", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedResponse_Unavailable()
    {
        _idp.IntrospectionMode = IdpMode.Huge;
        var result = await Auth("good-huge", Issuer());
        Assert.True(result.Unavailable);
    }

    [Fact]
    public async Task MaxResponseBytes_Configured_LargerAnswerFailsClosed()
    {
        // ~2 KiB of claims: under the 64 KiB default, over a 1 KiB max_response_bytes.
        _idp.Introspect = _ => new JsonObject { ["active"] = true, ["sub"] = "svc", ["padding"] = new string('x', 2048) };
        var small = Issuer(c => c with { MaxResponseBytes = 1024 });
        var standard = Issuer();

        var refused = await Auth("good-big", small);
        var accepted = await Auth("good-big", standard);

        Assert.False(refused.Succeeded);
        Assert.True(refused.Unavailable);
        Assert.Equal(ReasonCodes.IntrospectionUnavailable, refused.Reason);
        Assert.Contains("max_response_bytes (1024 bytes)", refused.Detail, StringComparison.Ordinal);
        Assert.True(accepted.Succeeded, accepted.ToString());
    }

    [Fact]
    public async Task CacheMaxEntries_Configured_BoundsTheCache()
    {
        var issuer = Issuer(c => c with { CacheMaxEntries = 5 });

        for (var i = 0; i < 40; i++)
        {
            Assert.True((await Auth("good-many-" + i, issuer)).Succeeded);
            Assert.InRange(issuer.Introspection!.CachedCount, 1, 5);
        }

        // The newest answer is kept: asking again is a hit, not another request.
        Assert.True((await Auth("good-many-39", issuer)).Succeeded);
        Assert.Equal(40, _idp.Introspections);
    }

    [Fact]
    public async Task CircuitBreaker_Configured_OpensAfterMinimumThroughputFailures_ClosesAfterBreakDuration()
    {
        _idp.IntrospectionMode = IdpMode.Status500;
        var issuer = Issuer(breaker: new CircuitBreakerConfig
        {
            FailureRatio = 1.0,
            MinimumThroughput = 5,
            SamplingDuration = TimeSpan.FromMinutes(1),
            BreakDuration = TimeSpan.FromMinutes(2),
        });

        for (var i = 0; i < 5; i++)
        {
            var failed = await Auth("good-cfg-cb-" + i, issuer);
            Assert.True(failed.Unavailable);
            Assert.DoesNotContain("circuit open", failed.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(5, _idp.Introspections); // the default (3) would have opened after three
        var open = await Auth("good-cfg-cb-5", issuer);
        Assert.Contains("circuit open", open.Detail, StringComparison.Ordinal);
        Assert.Equal(5, _idp.Introspections);

        _idp.IntrospectionMode = IdpMode.Ok;
        _time.Advance(TimeSpan.FromSeconds(100)); // past the default 15 s, inside the configured 2 min
        Assert.Contains("circuit open", (await Auth("good-cfg-cb-6", issuer)).Detail, StringComparison.Ordinal);
        Assert.Equal(5, _idp.Introspections);
        _time.Advance(TimeSpan.FromSeconds(21));
        Assert.True((await Auth("good-cfg-cb-7", issuer)).Succeeded);
        Assert.Equal(6, _idp.Introspections);
    }

    [Theory]
    [InlineData("{\"active\":true,\"iss\":\"https://other/\"}", ReasonCodes.TokenIssuerUnknown)]
    [InlineData("{\"active\":true,\"aud\":[\"payments\"]}", ReasonCodes.TokenAudienceMismatch)]
    [InlineData("{\"active\":true,\"exp\":1000}", ReasonCodes.TokenExpired)]
    [InlineData("{\"active\":\"true\"}", ReasonCodes.IntrospectionUnavailable)]
    [InlineData("{\"active\":true,\"active\":false}", ReasonCodes.IntrospectionUnavailable)]
    public async Task ActiveButInconsistent_Rejected(string response, string reason)
    {
        _idp.Introspect = _ => JsonNode.Parse(response)!.AsObject();
        _idp.Server.Handler = r => r.Path == "/introspect" ? LoopbackResponse.Json(response) : new LoopbackResponse(404, []);
        var result = await Auth("good-x", Issuer());
        Assert.False(result.Succeeded);
        Assert.Equal(reason, result.Reason);
    }

    [Fact]
    public async Task NotHttps_Unavailable()
    {
        var result = await Auth("good-x", Issuer(c => c with { Endpoint = "http://example.com/introspect" }));
        Assert.True(result.Unavailable);
    }

    [Fact]
    public async Task OpaqueToken_NoIntrospectingIssuer_Malformed()
    {
        await using var ctx = await TokenTestContext.CreateAsync();
        var result = await ctx.AuthenticateAsync("opaque-token-value");
        Assert.Equal(ReasonCodes.TokenMalformed, result.Reason);
    }

    [Fact]
    public async Task OpaqueToken_BadCharacters_Malformed_NotSent()
    {
        var result = await Auth("bad token with spaces", Issuer());
        Assert.Equal(ReasonCodes.TokenMalformed, result.Reason);
        Assert.Equal(0, _idp.Introspections);
    }
}
