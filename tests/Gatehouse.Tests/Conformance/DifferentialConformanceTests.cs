using System.Buffers.Text;
using System.Net;
using System.Text;

namespace Gatehouse.Tests.Conformance;

/// <summary>
/// The behaviours of shared/peers/README.md §7 where the peer proxies differ, decided for Gatehouse against the real
/// provider's keys and JWKS. Tokens the provider cannot issue (array aud, future nbf…) are signed with its own private
/// keys, so only the claim under test differs from a token it would issue.
/// </summary>
[Collection(ConformanceCollection.Name)]
public sealed class DifferentialConformanceTests(OidcProviderFixture idp)
{
    /// <summary>§7.1: HAProxy, mod_auth_openidc and njs accept a signature whose last character differs in padding bits only.</summary>
    [Theory]
    [InlineData(OidcProviderFixture.ApiResource)]
    [InlineData(OidcProviderFixture.ApiEsResource)]
    public async Task Non_canonical_base64url_signature_is_rejected(string resource)
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var token = await idp.GetTokenAsync(resource, "read");
        var altered = TestJwt.WithNonCanonicalLastSignatureChar(token);
        Assert.NotEqual(token, altered);

        using var rejected = await gateway.GetAsync("/api/x", altered);
        using var control = await gateway.GetAsync("/api/x", token);

        await ConformanceAssert.RejectedAsInvalidTokenAsync(gateway, rejected, "a signature with non-zero trailing bits in its last base64url character (RFC 7515 §2, RFC 4648 §3.5)");
        await ConformanceAssert.StatusAsync(gateway, control, HttpStatusCode.OK, "control: the provider's token as issued");
        Assert.Single(gateway.Upstream.Received);
    }

    /// <summary>§7.4: HAProxy's <c>$.aud</c> is empty for arrays; LemonLDAP::NG issues arrays.</summary>
    [Fact]
    public async Task Array_aud_containing_ours_is_accepted()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp, new GatewaySettings { Audiences = [OidcProviderFixture.ApiResource] });
        var token = TestJwt.SignRs256(idp.Keys, TestJwt.Claims(idp, new[] { "https://other.example.test", OidcProviderFixture.ApiResource }));

        using var response = await gateway.GetAsync("/api/array-aud", token);

        await ConformanceAssert.StatusAsync(gateway, response, HttpStatusCode.OK, "aud [other, ours]: any-of");
    }

    [Fact]
    public async Task Array_aud_without_ours_is_rejected()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp, new GatewaySettings { Audiences = [OidcProviderFixture.ApiResource] });
        var token = TestJwt.SignRs256(idp.Keys, TestJwt.Claims(idp, new[] { "https://other.example.test", OidcProviderFixture.ApiEsResource }));

        using var response = await gateway.GetAsync("/api/array-aud", token);

        await ConformanceAssert.RejectedAsInvalidTokenAsync(gateway, response, "aud [other, another] with none of ours");
    }

    public static TheoryData<string> HostileCases => new()
    {
        "nbf one day ahead",            // §7.2: mod_auth_openidc 2.4.12 accepts it
        "iat one day ahead",            // §7.2 (RFC 8725; issue 3: iat in the future beyond skew)
        "wrong iss",                    // §7.3: 403 in Apache, 401 elsewhere
        "HS256 with the RSA public key", // §7.7
        "alg none",                     // §7.7
        "ES256 signature under the RSA kid", // §7.7
        "tampered payload",
        "expired",
    };

    [Theory]
    [MemberData(nameof(HostileCases))]
    public async Task Hostile_or_invalid_token_is_rejected_as_invalid_token(string hostileCase)
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var token = await MintAsync(hostileCase);

        using var response = await gateway.GetAsync("/api/hostile", token);

        await ConformanceAssert.RejectedAsInvalidTokenAsync(gateway, response, hostileCase);
        Assert.Empty(gateway.Upstream.Received);
    }

    private async Task<string> MintAsync(string hostileCase)
    {
        var keys = idp.Keys;
        var claims = TestJwt.Claims(idp, OidcProviderFixture.ApiResource);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        switch (hostileCase)
        {
            case "nbf one day ahead":
                claims["nbf"] = now + 86_400;
                claims["exp"] = now + 2 * 86_400;
                return TestJwt.SignRs256(keys, claims);
            case "iat one day ahead":
                claims["iat"] = now + 86_400;
                claims["exp"] = now + 2 * 86_400;
                return TestJwt.SignRs256(keys, claims);
            case "wrong iss":
                claims["iss"] = idp.Issuer + "/other";
                return TestJwt.SignRs256(keys, claims);
            case "HS256 with the RSA public key":
                return TestJwt.SignHs256WithPublicKey(keys, claims);
            case "alg none":
                return TestJwt.Unsigned(keys, claims);
            case "ES256 signature under the RSA kid":
                return TestJwt.SignEs256(keys, claims, keys.RsKid);
            case "tampered payload":
            {
                var issued = await idp.GetTokenAsync(OidcProviderFixture.ApiResource, "write");
                var parts = issued.Split('.');
                var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1]));
                Assert.Contains("\"scope\":\"write\"", payload, StringComparison.Ordinal);
                var tampered = payload.Replace("\"scope\":\"write\"", "\"scope\":\"read\"", StringComparison.Ordinal);
                return $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(tampered))}.{parts[2]}";
            }
            case "expired":
                claims["iat"] = now - 3_600;
                claims["exp"] = now - 600; // beyond any sensible clock skew
                return TestJwt.SignRs256(keys, claims);
            default:
                throw new ArgumentOutOfRangeException(nameof(hostileCase), hostileCase, "unknown case");
        }
    }
}
