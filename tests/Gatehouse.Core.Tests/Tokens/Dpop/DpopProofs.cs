using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.Tokens.Dpop;

/// <summary>
/// Builds DPoP proofs (RFC 9449 §4.2) for tests, with every part open to tampering. The thumbprint comes from
/// IdentityModel's own RFC 7638 implementation, independent of the one under test.
/// </summary>
public static class DpopProofs
{
    /// <summary>The RFC 7638 thumbprint of <paramref name="key"/>'s public JWK, computed by IdentityModel.</summary>
    public static string Thumbprint(TestKey key)
    {
        var jwk = new JsonWebKey(PublicJwk(key).ToJsonString());
        return Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
    }

    /// <summary>The public JWK as a proof header carries it (no kid, no use).</summary>
    public static JsonObject PublicJwk(TestKey key)
    {
        var jwk = key.Jwk(includeKid: false);
        jwk.Remove("use");
        return jwk;
    }

    public static string Ath(string accessToken) => TestKey.B64(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

    /// <summary>A proof for <paramref name="method"/> <paramref name="url"/> carrying <paramref name="accessToken"/>'s hash.</summary>
    public static string Create(
        TestKey key,
        string method,
        string url,
        string? accessToken,
        DateTimeOffset iat,
        Action<JsonObject>? header = null,
        Action<JsonObject>? claims = null,
        string? nonce = null,
        string? signingAlg = null)
    {
        var h = new JsonObject { ["typ"] = "dpop+jwt", ["alg"] = key.Alg, ["jwk"] = PublicJwk(key) };
        header?.Invoke(h);
        var c = new JsonObject
        {
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["htm"] = method,
            ["htu"] = url,
            ["iat"] = iat.ToUnixTimeSeconds(),
        };
        if (accessToken is not null)
        {
            c["ath"] = Ath(accessToken);
        }

        if (nonce is not null)
        {
            c["nonce"] = nonce;
        }

        claims?.Invoke(c);
        return TestTokens.SignRaw(key, h.ToJsonString(), c.ToJsonString(), signingAlg ?? key.Alg);
    }
}
