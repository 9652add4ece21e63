using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.TestSupport;

/// <summary>An RSA and an EC signing key with their public JWKS, generated per test run (no committed private keys).</summary>
public sealed class TestIssuerKeys : IDisposable
{
    public const string Issuer = "https://idp.test.example/";
    public const string Audience = "orders";

    public TestIssuerKeys(string rsaKid = "rs-1", string ecKid = "ec-1")
    {
        Rsa = new RsaSecurityKey(RSA.Create(2048)) { KeyId = rsaKid };
        Ec = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = ecKid };
    }

    public RsaSecurityKey Rsa { get; }
    public ECDsaSecurityKey Ec { get; }

    public string JwksJson()
    {
        var rsa = Rsa.Rsa.ExportParameters(false);
        var ec = Ec.ECDsa.ExportParameters(false);
        var keys = new object[]
        {
            new Dictionary<string, string>
            {
                ["kty"] = "RSA", ["kid"] = Rsa.KeyId!, ["use"] = "sig", ["alg"] = "RS256",
                ["n"] = Base64UrlEncoder.Encode(rsa.Modulus), ["e"] = Base64UrlEncoder.Encode(rsa.Exponent),
            },
            new Dictionary<string, string>
            {
                ["kty"] = "EC", ["kid"] = Ec.KeyId!, ["use"] = "sig", ["alg"] = "ES256", ["crv"] = "P-256",
                ["x"] = Base64UrlEncoder.Encode(ec.Q.X), ["y"] = Base64UrlEncoder.Encode(ec.Q.Y),
            },
        };
        return JsonSerializer.Serialize(new { keys });
    }

    /// <summary>Mints a token; <paramref name="overrides"/> replace or (with a null value) remove standard claims.</summary>
    public string Mint(
        string scope = "orders.read",
        TimeSpan? lifetime = null,
        IDictionary<string, object?>? overrides = null,
        bool ec = false,
        string type = "at+jwt")
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = "checkout",
            ["aud"] = Audience,
            ["client_id"] = "checkout-client",
            ["scope"] = scope,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.Add(lifetime ?? TimeSpan.FromMinutes(5)).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        if (overrides is not null)
        {
            foreach (var (key, value) in overrides)
            {
                if (value is null)
                {
                    claims.Remove(key);
                }
                else
                {
                    claims[key] = value;
                }
            }
        }
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = ec
                ? new SigningCredentials(Ec, SecurityAlgorithms.EcdsaSha256)
                : new SigningCredentials(Rsa, SecurityAlgorithms.RsaSha256),
            TokenType = type,
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>).</summary>
    public static string Unsigned(string payloadJson) =>
        Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"at+jwt\"}") + "." + Base64UrlEncoder.Encode(payloadJson) + ".";

    /// <summary>The classic confusion attack: HS256 keyed with the RSA public key's PEM.</summary>
    public string HmacWithPublicKey(string payloadJson)
    {
        var header = Base64UrlEncoder.Encode($"{{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"{Rsa.KeyId}\"}}");
        var payload = Base64UrlEncoder.Encode(payloadJson);
        var pem = Rsa.Rsa.ExportSubjectPublicKeyInfoPem();
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(pem), Encoding.ASCII.GetBytes(header + "." + payload));
        return header + "." + payload + "." + Base64UrlEncoder.Encode(signature);
    }

    public string ValidPayloadJson(string scope = "orders.read")
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return $"{{\"iss\":\"{Issuer}\",\"sub\":\"checkout\",\"aud\":\"{Audience}\",\"scope\":\"{scope}\",\"iat\":{now},\"exp\":{now + 300}}}";
    }

    public void Dispose()
    {
        Rsa.Rsa.Dispose();
        Ec.ECDsa.Dispose();
    }
}
