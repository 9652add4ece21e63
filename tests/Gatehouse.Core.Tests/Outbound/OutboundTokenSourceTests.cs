using System.Security.Cryptography;
using System.Text;
using System.Web;
using Gatehouse.Configuration;
using Gatehouse.Outbound;
using Gatehouse.Tests.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Outbound;

/// <summary>
/// The outbound token source against a loopback token endpoint whose answers are injected (outage, refusal): caching,
/// single-flight refresh ahead of expiry, stale use during an outage, exchange cache bounds, request shapes. The same
/// behaviour against the real oidc-provider is in Gatehouse.Tests (Outbound).
/// </summary>
public sealed class OutboundTokenSourceTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Gatehouse.Testing.TestTemp.CreateDirectory("outbound-");
    private LoopbackServer? _server;

    private static string TokenJson(string token, int expiresIn) =>
        $$"""{"access_token":"{{token}}","token_type":"Bearer","expires_in":{{expiresIn}},"issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}""";

    private (OutboundTokenSource Source, LoopbackServer Server) Create(Func<LoopbackRequest, LoopbackResponse> handler, OutboundTokenConfig? config = null)
    {
        _server = new LoopbackServer(handler);
        var secret = Path.Combine(_dir, "secret");
        File.WriteAllText(secret, "s3cret:+%\n");
        config ??= new OutboundTokenConfig { Mode = OutboundTokenMode.ClientCredentials };
        config = config with
        {
            TokenEndpoint = _server.Url("/token"),
            ClientId = config.ClientId ?? "checkout",
            ClientSecretFile = config.ClientSecretFile ?? secret,
            RefreshBefore = TimeSpan.FromSeconds(30),
        };
        var http = new HttpClient();
        var client = new TokenEndpointClient(config, "to-payments", null, http, ownsHttp: true, _time, NullLogger.Instance);
        return (new OutboundTokenSource("to-payments", config, client, _time, null, NullLogger.Instance), _server);
    }

    [Fact]
    public async Task ClientCredentials_ConcurrentCallers_ShareOneRequest_AndUseTheCache()
    {
        var n = 0;
        var (source, server) = Create(_ => LoopbackResponse.Json(TokenJson("tok-" + Interlocked.Increment(ref n), 120)) with { Delay = TimeSpan.FromMilliseconds(100) });

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => source.GetClientCredentialsTokenAsync(CancellationToken.None).AsTask()));
        var again = await source.GetClientCredentialsTokenAsync(CancellationToken.None);

        Assert.All(results, r => Assert.Equal("tok-1", r.Token));
        Assert.Equal(1, server.Count("/token"));
        Assert.True(again.FromCache);
        Assert.Equal("tok-1", again.Token);
        // RFC 6749 §2.3.1: the secret is form-urlencoded before HTTP Basic.
        var request = server.Requests.Single();
        var basic = Encoding.UTF8.GetString(Convert.FromBase64String(request.Headers["authorization"]["Basic ".Length..]));
        Assert.Equal("checkout:s3cret%3A%2B%25", basic);
        Assert.Contains("grant_type=client_credentials", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientCredentials_IsRefreshedAheadOfExpiry_WhileTheCachedTokenKeepsServing()
    {
        var n = 0;
        var (source, server) = Create(_ => LoopbackResponse.Json(TokenJson("tok-" + Interlocked.Increment(ref n), 120)));
        Assert.Equal("tok-1", (await source.GetClientCredentialsTokenAsync(CancellationToken.None)).Token);

        _time.Advance(TimeSpan.FromSeconds(95)); // inside exp − refresh_before
        var during = await source.GetClientCredentialsTokenAsync(CancellationToken.None);
        Assert.Equal("tok-1", during.Token); // not held up by the refresh
        await WaitUntilAsync(() => server.Count("/token") == 2);
        await WaitUntilAsync(async () => (await source.GetClientCredentialsTokenAsync(CancellationToken.None)).Token == "tok-2");
        Assert.Equal(2, server.Count("/token"));
    }

    [Fact]
    public async Task ClientCredentials_IdpDown_ServesTheStillValidToken_ThenUnavailable()
    {
        var (source, server) = Create(_ => LoopbackResponse.Json(TokenJson("tok-1", 60)));
        await source.GetClientCredentialsTokenAsync(CancellationToken.None);
        server.Handler = _ => LoopbackResponse.Json("""{"error":"server_error"}""", 503);

        _time.Advance(TimeSpan.FromSeconds(50));
        var stale = await source.GetClientCredentialsTokenAsync(CancellationToken.None);
        Assert.Equal("tok-1", stale.Token);
        await WaitUntilAsync(() => server.Count("/token") == 2);

        _time.Advance(TimeSpan.FromSeconds(11)); // past exp
        var gone = await source.GetClientCredentialsTokenAsync(CancellationToken.None);
        Assert.False(gone.Succeeded);
        Assert.Equal(OutboundTokenFailure.Unavailable, gone.Failure);
    }

    [Fact]
    public async Task Refusal_IsReadAsRfc6749Error_AndNeverOpensTheCircuit()
    {
        var (source, server) = Create(_ => LoopbackResponse.Json("""{"error":"invalid_target","error_description":"no such audience"}""", 400),
            new OutboundTokenConfig { Mode = OutboundTokenMode.Exchange, Audience = "payments" });

        for (var i = 0; i < 6; i++)
        {
            var result = await source.ExchangeAsync(Jwt(exp: _time.GetUtcNow().AddMinutes(10), jti: "s" + i), CancellationToken.None);
            Assert.Equal(OutboundTokenFailure.Refused, result.Failure);
            Assert.Equal("invalid_target", result.Error);
        }

        Assert.Equal(6, server.Count("/token")); // refusals are answers: not cached, not counted against the breaker
    }

    [Fact]
    public async Task Refusal_WithAnOddErrorCode_BecomesInvalidResponse()
    {
        var (source, _) = Create(_ => LoopbackResponse.Json("""{"error":"Bad\r\nx-injected: 1"}""", 400),
            new OutboundTokenConfig { Mode = OutboundTokenMode.Exchange });

        var result = await source.ExchangeAsync(Jwt(_time.GetUtcNow().AddMinutes(10)), CancellationToken.None);

        Assert.Equal("invalid_response", result.Error);
    }

    [Fact]
    public async Task Exchange_SendsRfc8693Parameters_AndIsCachedNeverPastTheSubjectExp()
    {
        var n = 0;
        var (source, server) = Create(_ => LoopbackResponse.Json(TokenJson("ex-" + Interlocked.Increment(ref n), 3600)),
            new OutboundTokenConfig
            {
                Mode = OutboundTokenMode.Exchange,
                Audience = "payments",
                Resource = "https://payments.west.example/",
                Scopes = ["payments.charge", "payments.read"],
                ClientAuth = OutboundClientAuth.ClientSecretPost,
            });
        var subject = Jwt(exp: _time.GetUtcNow().AddSeconds(40));

        var first = await source.ExchangeAsync(subject, CancellationToken.None);
        var second = await source.ExchangeAsync(subject, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(41));
        var third = await source.ExchangeAsync(subject, CancellationToken.None);

        Assert.Equal("ex-1", first.Token);
        Assert.True(second.FromCache);
        Assert.Equal("ex-1", second.Token);
        Assert.Equal("ex-2", third.Token); // the subject expired: the cached exchange was not served past it
        var form = HttpUtility.ParseQueryString(server.Requests.First().Body);
        Assert.Equal("urn:ietf:params:oauth:grant-type:token-exchange", form["grant_type"]);
        Assert.Equal(subject, form["subject_token"]);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", form["subject_token_type"]);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", form["requested_token_type"]);
        Assert.Equal("payments", form["audience"]);
        Assert.Equal("https://payments.west.example/", form["resource"]);
        Assert.Equal("payments.charge payments.read", form["scope"]);
        Assert.Equal("checkout", form["client_id"]);
        Assert.Equal("s3cret:+%", form["client_secret"]);
        Assert.Null(form["actor_token"]);
    }

    [Fact]
    public async Task Exchange_WithActor_SendsTheWorkloadsOwnTokenAsActorToken()
    {
        var (source, server) = Create(request => request.Body.Contains("client_credentials", StringComparison.Ordinal)
                ? LoopbackResponse.Json(TokenJson("own-token", 600))
                : LoopbackResponse.Json(TokenJson("exchanged", 600)),
            new OutboundTokenConfig { Mode = OutboundTokenMode.Exchange, Audience = "payments", Actor = OutboundActor.ClientCredentials });

        var result = await source.ExchangeAsync(Jwt(_time.GetUtcNow().AddMinutes(10)), CancellationToken.None);

        Assert.Equal("exchanged", result.Token);
        var exchange = HttpUtility.ParseQueryString(server.Requests.Single(r => r.Body.Contains("token-exchange", StringComparison.Ordinal)).Body);
        Assert.Equal("own-token", exchange["actor_token"]);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", exchange["actor_token_type"]);
    }

    [Fact]
    public async Task Exchange_CacheIsBounded()
    {
        var n = 0;
        var (source, _) = Create(_ => LoopbackResponse.Json(TokenJson("ex-" + Interlocked.Increment(ref n), 3600)),
            new OutboundTokenConfig { Mode = OutboundTokenMode.Exchange, CacheMaxEntries = 10 });

        for (var i = 0; i < 40; i++)
        {
            Assert.True((await source.ExchangeAsync(Jwt(_time.GetUtcNow().AddMinutes(10), "j" + i), CancellationToken.None)).Succeeded);
        }

        Assert.InRange(source.CachedExchanges, 1, 10);
    }

    [Fact]
    public async Task PrivateKeyJwt_SignsAnRfc7523Assertion_ForTheTokenEndpoint()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyFile = Path.Combine(_dir, "client.key");
        await File.WriteAllTextAsync(keyFile, ec.ExportPkcs8PrivateKeyPem());
        var (source, server) = Create(_ => LoopbackResponse.Json(TokenJson("tok", 600)),
            new OutboundTokenConfig { Mode = OutboundTokenMode.ClientCredentials, ClientAuth = OutboundClientAuth.PrivateKeyJwt, ClientKeyFile = keyFile, ClientKeyId = "k1" });

        Assert.True((await source.GetClientCredentialsTokenAsync(CancellationToken.None)).Succeeded);

        var form = HttpUtility.ParseQueryString(server.Requests.Single().Body);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"]);
        Assert.False(server.Requests.Single().Headers.ContainsKey("authorization"));
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(form["client_assertion"], new TokenValidationParameters
        {
            ValidIssuer = "checkout",
            ValidAudience = server.Url("/token"),
            IssuerSigningKey = new ECDsaSecurityKey(ECDsa.Create(ec.ExportParameters(false))),
            LifetimeValidator = (_, _, _, _) => true,
        });
        Assert.True(validation.IsValid, validation.Exception?.Message);
        Assert.Equal("checkout", validation.Claims["sub"]);
        Assert.Equal("k1", ((JsonWebToken)validation.SecurityToken).Kid);
    }

    [Fact]
    public async Task FailingEndpoint_OpensTheCircuit_SoLaterCallsFailWithoutReachingIt()
    {
        var (source, server) = Create(_ => LoopbackResponse.Json("""{"error":"server_error"}""", 500),
            new OutboundTokenConfig { Mode = OutboundTokenMode.Exchange, CircuitBreaker = new CircuitBreakerConfig { MinimumThroughput = 3, FailureRatio = 0.5 } });

        var results = new List<OutboundTokenResult>();
        for (var i = 0; i < 6; i++)
        {
            results.Add(await source.ExchangeAsync(Jwt(_time.GetUtcNow().AddMinutes(10), "c" + i), CancellationToken.None));
        }

        Assert.All(results, r => Assert.Equal(OutboundTokenFailure.Unavailable, r.Failure));
        Assert.Equal(3, server.Count("/token"));
        Assert.Contains("circuit open", results[^1].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreadableSecret_IsUnavailable_WithoutCallingTheEndpoint()
    {
        var (source, server) = Create(_ => LoopbackResponse.Json(TokenJson("tok", 600)),
            new OutboundTokenConfig { Mode = OutboundTokenMode.ClientCredentials, ClientSecretFile = Path.Combine(_dir, "missing") });

        var result = await source.GetClientCredentialsTokenAsync(CancellationToken.None);

        Assert.Equal(OutboundTokenFailure.Unavailable, result.Failure);
        Assert.Equal(0, server.Count("/token"));
    }

    private static string Jwt(DateTimeOffset exp, string jti = "j")
    {
        static string B64(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        return B64("""{"alg":"RS256","typ":"at+jwt"}""") + "." + B64($$"""{"sub":"alice","jti":"{{jti}}","exp":{{exp.ToUnixTimeSeconds()}}}""") + "." + B64("sig");
    }

    private static async Task WaitUntilAsync(Func<bool> condition) => await WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 500; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(10);
        }

        Assert.Fail("condition not reached within 5 s");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
