using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Gatehouse.Tokens.TxnTokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.Tokens.TxnTokens;

/// <summary>
/// The key ring, the minter and the service's request processing on their own (no network): claims and header of a
/// minted Txn-Token, replacement rules (never widen, never outlive, never for an expired token), scope narrowing.
/// </summary>
public sealed class TxnTokenCoreTests : IDisposable
{
    private const string Caller = "spiffe://shop.example/ns/shop/sa/orders";
    private readonly string _dir = Gatehouse.Testing.TestTemp.CreateDirectory("txn-core-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero));

    public TxnTokenCoreTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private TxnTokensConfig Config(params (string Kid, bool Active)[] keys)
    {
        var list = new List<TxnSigningKeyConfig>();
        foreach (var (kid, active) in keys)
        {
            var path = Path.Combine(_dir, kid + ".pem");
            if (!File.Exists(path))
            {
                using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                File.WriteAllText(path, ec.ExportPkcs8PrivateKeyPem());
            }
            list.Add(new TxnSigningKeyConfig { File = path, KeyId = kid, Algorithm = "ES256", Active = active });
        }
        return new TxnTokensConfig
        {
            Issuer = "https://txn.shop.example",
            Audience = "shop.example",
            Lifetime = TimeSpan.FromSeconds(60),
            SigningKeys = list,
            AllowedCallers = [Caller, "spiffe://shop.example/ns/shop/sa/payments"],
        };
    }

    private TxnTokenRuntime Runtime(TxnTokensConfig txn, GatehouseConfig? config = null)
    {
        var runtime = TxnTokenRuntime.Create((config ?? new GatehouseConfig()) with { TxnTokens = txn }, new Dictionary<string, IssuerRuntime>(), out var error);
        Assert.True(runtime is not null, error);
        return runtime!;
    }

    private static JsonElement Payload(string token) =>
        JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[1])).RootElement;

    private static JsonElement Header(string token) =>
        JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[0])).RootElement;

    private MintedTxnToken Mint(TxnTokenRuntime runtime, string scope = "orders.read orders.write") =>
        runtime.Minter.Mint(new TxnTokenContent
        {
            Subject = "alice",
            Scope = scope,
            Transaction = TxnTokenRequestProcessor.NewTransactionId(null),
            RequestingWorkload = "spiffe://shop.example/gateway",
            Gateway = new GatewayTransactionContext("203.0.113.7", "bearer", "web", "https", "POST", "/orders/7", "orders"),
        }, _time.GetUtcNow());

    [Fact]
    public async Task Minter_WritesTheDraftHeaderAndClaims_VerifiableWithThePublishedJwks()
    {
        var runtime = Runtime(Config(("txn-1", true)));

        var minted = Mint(runtime);

        var header = Header(minted.Token);
        Assert.Equal("txntoken+jwt", header.GetProperty("typ").GetString());
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        Assert.Equal("txn-1", header.GetProperty("kid").GetString());
        var body = Payload(minted.Token);
        Assert.Equal("https://txn.shop.example", body.GetProperty("iss").GetString());
        Assert.Equal("shop.example", body.GetProperty("aud").GetString());
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), body.GetProperty("iat").GetInt64());
        Assert.Equal(60, body.GetProperty("exp").GetInt64() - body.GetProperty("iat").GetInt64());
        Assert.Equal("alice", body.GetProperty("sub").GetString());
        Assert.Equal("orders.read orders.write", body.GetProperty("scope").GetString());
        Assert.Equal(minted.TokenId, body.GetProperty("jti").GetString());
        Assert.Matches("^[0-9a-f]{32}-[0-9a-f]{16}$", body.GetProperty("txn").GetString());
        Assert.Equal("203.0.113.7", body.GetProperty("rctx").GetProperty("req_ip").GetString());
        Assert.Equal("/orders/7", body.GetProperty("tctx").GetProperty("path").GetString());
        Assert.Equal("orders", body.GetProperty("tctx").GetProperty("route").GetString());

        var jwks = new JsonWebKeySet(System.Text.Encoding.UTF8.GetString(runtime.Ring.JwksDocument));
        Assert.All(jwks.Keys, k => Assert.Null(k.D));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(minted.Token, new TokenValidationParameters
        {
            ValidIssuer = "https://txn.shop.example",
            ValidAudience = "shop.example",
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidTypes = ["txntoken+jwt"],
            ValidateLifetime = false,
        });
        Assert.True(result.IsValid, result.Exception?.Message);
    }

    [Fact]
    public async Task Ring_WithARetiringKey_SignsWithTheActiveOne_AndVerifiesBoth()
    {
        var before = Runtime(Config(("txn-1", true)));
        var old = Mint(before);
        var after = Runtime(Config(("txn-2", true), ("txn-1", false)));

        var fresh = Mint(after);

        Assert.Equal("txn-2", Header(fresh.Token).GetProperty("kid").GetString());
        Assert.Equal(["txn-2", "txn-1"], after.Ring.Keys.Select(k => k.KeyId));
        Assert.True((await TxnTokenValidator.ValidateAsync(old.Token, after.Config, after.Ring, _time.GetUtcNow())).Succeeded);
        Assert.True((await TxnTokenValidator.ValidateAsync(fresh.Token, after.Config, after.Ring, _time.GetUtcNow())).Succeeded);
        // Once txn-1 leaves the ring, what it signed no longer verifies.
        var dropped = Runtime(Config(("txn-2", true)));
        Assert.Equal("signed by an unknown key", (await TxnTokenValidator.ValidateAsync(old.Token, dropped.Config, dropped.Ring, _time.GetUtcNow())).Problem);
    }

    [Fact]
    public async Task Validator_RefusesExpiredWrongAudienceAndForeignTokens()
    {
        var runtime = Runtime(Config(("txn-1", true)));
        var minted = Mint(runtime);
        var other = Runtime(Config(("other", true)) with { Audience = "elsewhere.example" });

        Assert.Equal("expired", (await TxnTokenValidator.ValidateAsync(minted.Token, runtime.Config, runtime.Ring, _time.GetUtcNow().AddSeconds(60))).Problem);
        Assert.Equal("aud is not this trust domain", (await TxnTokenValidator.ValidateAsync(Mint(other).Token, runtime.Config with { Audience = "shop.example" }, other.Ring, _time.GetUtcNow())).Problem);
        var foreign = Runtime(Config(("foreign", true)));
        Assert.Equal("signed by an unknown key", (await TxnTokenValidator.ValidateAsync(Mint(foreign).Token, runtime.Config, runtime.Ring, _time.GetUtcNow())).Problem);
        Assert.False((await TxnTokenValidator.ValidateAsync("not.a.token", runtime.Config, runtime.Ring, _time.GetUtcNow())).Succeeded);
    }

    private async Task<TxnTokenResult> Replace(TxnTokenRuntime runtime, string token, string scope, string caller = "spiffe://shop.example/ns/shop/sa/payments", string? details = null)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", TxnTokenProtocol.GrantTypeTokenExchange),
            new("requested_token_type", TxnTokenProtocol.TokenTypeUri),
            new("audience", "shop.example"),
            new("scope", scope),
            new("subject_token", token),
            new("subject_token_type", TxnTokenProtocol.TokenTypeUri),
        };
        if (details is not null)
        {
            form.Add(new("request_details", details));
        }
        return await TxnTokenRequestProcessor.ProcessAsync(form, caller, null, runtime, new TokenAuthenticator(_time, NullLoggerFactory.Instance), static t => Gatehouse.Identity.Profiles.ClaimProfiles.CreatePrincipal(t.Claims, t.Issuer.Config, null), _time, CancellationToken.None);
    }

    [Fact]
    public async Task Replacement_NarrowsScope_KeepsTxnSubAudAndContext_AppendsTheCaller_AndNeverOutlivesTheOriginal()
    {
        var runtime = Runtime(Config(("txn-1", true)));
        var original = Mint(runtime);
        _time.Advance(TimeSpan.FromSeconds(30));

        var result = await Replace(runtime, original.Token, "orders.read");

        Assert.True(result.Succeeded, result.Description);
        Assert.True(result.Replacement);
        var before = Payload(original.Token);
        var after = Payload(result.Minted!.Value.Token);
        Assert.Equal(before.GetProperty("txn").GetString(), after.GetProperty("txn").GetString());
        Assert.Equal(before.GetProperty("sub").GetString(), after.GetProperty("sub").GetString());
        Assert.Equal(before.GetProperty("aud").GetString(), after.GetProperty("aud").GetString());
        Assert.Equal(before.GetProperty("rctx").GetRawText(), after.GetProperty("rctx").GetRawText());
        Assert.Equal(before.GetProperty("tctx").GetRawText(), after.GetProperty("tctx").GetRawText());
        Assert.Equal("orders.read", after.GetProperty("scope").GetString());
        Assert.Equal("spiffe://shop.example/gateway,spiffe://shop.example/ns/shop/sa/payments", after.GetProperty("req_wl").GetString());
        // 30 s into a 60 s token: the replacement ends when the original does, not 60 s from now.
        Assert.Equal(before.GetProperty("exp").GetInt64(), after.GetProperty("exp").GetInt64());
    }

    [Theory]
    [InlineData("orders.read admin", "invalid_scope")]
    [InlineData("orders.delete", "invalid_scope")]
    public async Task Replacement_NeverWidensScope(string scope, string error)
    {
        var runtime = Runtime(Config(("txn-1", true)));
        var original = Mint(runtime, scope: "orders.read");

        var result = await Replace(runtime, original.Token, scope);

        Assert.False(result.Succeeded);
        Assert.Equal((400, error), (result.StatusCode, result.Error));
    }

    [Fact]
    public async Task Replacement_OfAnExpiredOrRewrittenToken_IsRefused()
    {
        var runtime = Runtime(Config(("txn-1", true)));
        var original = Mint(runtime);

        var rewrite = await Replace(runtime, original.Token, "orders.read", details: "{\"amount\":1}");
        _time.Advance(TimeSpan.FromSeconds(61));
        var expired = await Replace(runtime, original.Token, "orders.read");

        Assert.Equal("invalid_request", rewrite.Error);
        Assert.Contains("rctx and tctx", rewrite.Description, StringComparison.Ordinal);
        Assert.Equal("invalid_request", expired.Error);
        Assert.Contains("expired", expired.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void NarrowScope_IsTheTokensScopesThatTheRouteOrTheDecidingRuleNamed()
    {
        var policies = new Dictionary<string, PolicyConfig>
        {
            ["orders-write"] = new()
            {
                Action = PolicyAction.Allow,
                Rules =
                [
                    new PolicyRuleConfig { When = [new WhenConditionConfig { Key = "scopes", Values = ["orders.read"] }] },
                    new PolicyRuleConfig { When = [new WhenConditionConfig { Key = "scopes", Values = ["orders.write", "orders.admin"] }, new WhenConditionConfig { Key = "scopes", Negated = true, Values = ["banned"] }] },
                ],
            },
        };
        var runtime = Runtime(Config(("txn-1", true)), new GatehouseConfig { Policies = policies });
        var held = new HashSet<string>(["orders.read", "orders.write", "profile", "banned"], StringComparer.Ordinal);

        Assert.Equal("orders.write", runtime.NarrowScope(held, [], "orders-write/rule1"));
        Assert.Equal("orders.read", runtime.NarrowScope(held, [], "orders-write/rule0"));
        Assert.Equal("profile orders.write", runtime.NarrowScope(held, ["profile"], "orders-write/rule1"));
        Assert.Equal("", runtime.NarrowScope(held, [], null));
        Assert.Equal("", runtime.NarrowScope(new HashSet<string>(), ["orders.read"], "orders-write/rule0"));
    }

    [Fact]
    public void NewTransactionId_StartsWithTheTraceId_AndIsUniquePerCall()
    {
        var trace = "4bf92f3577b34da6a3ce929d0e0e4736";

        var a = TxnTokenRequestProcessor.NewTransactionId(trace);
        var b = TxnTokenRequestProcessor.NewTransactionId(trace);
        var c = TxnTokenRequestProcessor.NewTransactionId("NOT-A-TRACE");

        Assert.StartsWith(trace + "-", a, StringComparison.Ordinal);
        Assert.NotEqual(a, b);
        Assert.Matches("^[0-9a-f]{32}-[0-9a-f]{16}$", c);
        Assert.DoesNotContain("NOT", c, StringComparison.Ordinal);
    }
}
