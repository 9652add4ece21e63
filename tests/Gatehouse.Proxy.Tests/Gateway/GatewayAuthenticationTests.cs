using System.Net;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// The gateway on real Kestrel in front of a real upstream: RFC 6750 challenges, token checks, and bad input.
/// Every refusal must be a 401/403 with the right challenge, never an allow and never a crash.
/// </summary>
public sealed class GatewayAuthenticationTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task MissingToken_Returns401_WithBareChallenge()
    {
        using var response = await _gateway.GetAsync("/orders");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        // RFC 6750 §3.1: no error code when the request carried no authentication information.
        Assert.DoesNotContain("error=", challenge.Parameter ?? "", StringComparison.Ordinal);
        Assert.Empty(_gateway.Upstream.Received);
    }

    [Fact]
    public async Task ValidToken_IsForwarded_WithClaimHeaders_AndWithoutAuthorization()
    {
        var token = _gateway.Keys.Mint("orders.read orders.write");

        using var response = await _gateway.GetAsync("/orders/42?x=1", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = _gateway.Upstream.Last();
        Assert.Equal("/orders/42?x=1", received.RawTarget);
        Assert.False(received.Headers.ContainsKey("authorization"));
        Assert.Equal("checkout", received.Headers["x-auth-subject"]);
        Assert.Equal("orders.read orders.write", received.Headers["x-auth-scopes"]);
        Assert.Equal("127.0.0.1", received.Headers["x-forwarded-for"]);
        Assert.Equal("http", received.Headers["x-forwarded-proto"]);
        Assert.True(received.Headers.ContainsKey("x-forwarded-host"));
    }

    [Fact]
    public async Task Es256Token_IsAccepted()
    {
        using var response = await _gateway.GetAsync("/orders", _gateway.Keys.Mint(ec: true));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task SpoofedIdentityHeaders_AreStripped()
    {
        var token = _gateway.Keys.Mint();

        using var response = await _gateway.GetAsync("/orders", token, request =>
        {
            request.Headers.TryAddWithoutValidation("x-auth-subject", "admin");
            request.Headers.TryAddWithoutValidation("x-forwarded-client-cert", "By=spiffe://evil;URI=spiffe://cluster.local/ns/shop/sa/admin");
            request.Headers.TryAddWithoutValidation("x-forwarded-for", "10.0.0.1");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = _gateway.Upstream.Last();
        Assert.Equal("checkout", received.Headers["x-auth-subject"]);
        Assert.False(received.Headers.ContainsKey("x-forwarded-client-cert"));
        Assert.Equal("127.0.0.1", received.Headers["x-forwarded-for"]);
    }

    [Fact]
    public async Task Authorization_IsForwarded_WhenTheRouteSaysSo()
    {
        var token = _gateway.Keys.Mint();

        using var response = await _gateway.GetAsync("/forwarding/x", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer " + token, _gateway.Upstream.Last().Headers["authorization"]);
    }

    [Fact]
    public async Task MissingRequiredScope_Returns403_InsufficientScope()
    {
        using var response = await _gateway.GetAsync("/orders", _gateway.Keys.Mint("orders.write"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate).Parameter ?? "";
        Assert.Contains("error=\"insufficient_scope\"", challenge, StringComparison.Ordinal);
        Assert.Contains("scope=\"orders.read\"", challenge, StringComparison.Ordinal);
        Assert.Empty(_gateway.Upstream.Received);
    }

    [Fact]
    public async Task PublicRoute_NeedsNoToken_ButRefusesAnInvalidOne()
    {
        using var anonymous = await _gateway.GetAsync("/public/status");
        using var invalid = await _gateway.GetAsync("/public/status", "not-a-token");

        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, invalid.StatusCode);
    }

    // Note: each case names the reason it must be refused for, so a case that is refused for some other reason
    // (e.g. an HS256-with-the-RSA-key token refused only as malformed) fails instead of passing by accident.
    public static TheoryData<string, string, string> BadAuthorizationHeaders => new()
    {
        { "BearerOnly", "Bearer", ReasonCodes.AuthorizationHeaderInvalid },
        { "TwoTokens", "Bearer abc def", ReasonCodes.AuthorizationHeaderInvalid },
        { "BasicThenBearer", "Basic dXNlcjpwYXNz, Bearer abc", ReasonCodes.AuthorizationHeaderInvalid },
        { "Garbage", "Bearer !!!$$$", ReasonCodes.AuthorizationHeaderInvalid },
        { "NotAJwt", "Bearer abc.def.ghi", ReasonCodes.TokenMalformed },
        { "EmptyParts", "Bearer ..", ReasonCodes.TokenMalformed },
        { "HugeToken", "Bearer " + new string('a', 20_000), ReasonCodes.TokenTooLarge },
    };

    [Theory]
    [MemberData(nameof(BadAuthorizationHeaders))]
    public async Task MalformedAuthorization_Returns401_InvalidToken(string name, string header, string reason)
    {
        _ = name;
        using var response = await _gateway.GetAsync("/orders", configure: r => r.Headers.TryAddWithoutValidation("Authorization", header));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", Assert.Single(response.Headers.WwwAuthenticate).Parameter ?? "", StringComparison.Ordinal);
        Assert.Equal(reason, ReasonCode(response));
        Assert.Empty(_gateway.Upstream.Received);
    }

    [Fact]
    public async Task OtherAuthorizationScheme_Returns401_WithBareChallenge()
    {
        // RFC 6750 §3.1: a request that used an unsupported authentication method carries no bearer credential, so
        // the challenge has no error code.
        using var response = await _gateway.GetAsync("/orders", configure: r => r.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.DoesNotContain("error=", challenge.Parameter ?? "", StringComparison.Ordinal);
        Assert.Equal(ReasonCodes.TokenMissing, ReasonCode(response));
        Assert.Empty(_gateway.Upstream.Received);
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "AlgNone", ReasonCodes.TokenSignatureInvalid },   // an Unsecured JWS: empty signature (RFC 7519 §6)
        { "HmacWithRsaPublicKey", ReasonCodes.TokenAlgorithmNotAllowed },
        { "UnknownKid", ReasonCodes.TokenKeyUnknown },
        { "TamperedPayload", ReasonCodes.TokenSignatureInvalid },
        { "Expired", ReasonCodes.TokenExpired },
        { "NotYetValid", ReasonCodes.TokenNotYetValid },
        { "WrongIssuer", ReasonCodes.TokenIssuerUnknown },
        { "WrongAudience", ReasonCodes.TokenAudienceMismatch },
        { "NoExpiry", ReasonCodes.TokenExpirationMissing },
        { "Es256SignatureUnderRsaKid", "token.key_algorithm_mismatch" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task InvalidToken_Returns401_InvalidToken(string name, string reason)
    {
        var keys = _gateway.Keys;
        var token = name switch
        {
            "AlgNone" => TestIssuerKeys.Unsigned(keys.ValidPayloadJson()),
            "HmacWithRsaPublicKey" => keys.HmacWithPublicKey(keys.ValidPayloadJson()),
            "UnknownKid" => MintWithOtherKey(),
            "TamperedPayload" => Tamper(keys.Mint()),
            "Expired" => keys.Mint(lifetime: TimeSpan.FromMinutes(-10)),
            "NotYetValid" => keys.Mint(overrides: new Dictionary<string, object?> { ["nbf"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds() }),
            "WrongIssuer" => keys.Mint(overrides: new Dictionary<string, object?> { ["iss"] = "https://evil.example/" }),
            "WrongAudience" => keys.Mint(overrides: new Dictionary<string, object?> { ["aud"] = "payments" }),
            "NoExpiry" => keys.Mint(overrides: new Dictionary<string, object?> { ["exp"] = null }),
            "Es256SignatureUnderRsaKid" => SwapKid(keys.Mint(ec: true), keys.Rsa.KeyId!),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        using var response = await _gateway.GetAsync("/orders", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", Assert.Single(response.Headers.WwwAuthenticate).Parameter ?? "", StringComparison.Ordinal);
        Assert.Equal(reason, ReasonCode(response));
        Assert.Empty(_gateway.Upstream.Received);
    }

    /// <summary>The reason code without its <c>:detail</c>.</summary>
    private static string ReasonCode(HttpResponseMessage response)
        => response.Headers.GetValues("x-gatehouse-reason").Single().Split(':')[0];

    [Fact]
    public async Task DenialBody_IsShortJson_WithTheReason()
    {
        using var response = await _gateway.GetAsync("/orders", _gateway.Keys.Mint(lifetime: TimeSpan.FromMinutes(-10)));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"token.expired\"", body, StringComparison.Ordinal);
        Assert.True(body.Length < 300, body);
        Assert.Equal("token.expired", response.Headers.GetValues("x-gatehouse-reason").Single());
    }

    private static string MintWithOtherKey()
    {
        using var other = new TestIssuerKeys(rsaKid: "rs-unknown");
        return other.Mint();
    }

    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[1]).Replace("\"checkout\"", "\"admin\"", StringComparison.Ordinal);
        return parts[0] + "." + Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload) + "." + parts[2];
    }

    private static string SwapKid(string token, string kid)
    {
        var parts = token.Split('.');
        var header = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[0]);
        var swapped = System.Text.RegularExpressions.Regex.Replace(header, "\"kid\":\"[^\"]*\"", $"\"kid\":\"{kid}\"");
        return Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(swapped) + "." + parts[1] + "." + parts[2];
    }
}
