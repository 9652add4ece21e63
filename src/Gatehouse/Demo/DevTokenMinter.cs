using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Cli.Demo;

/// <summary>Mints signed JWT access tokens with a local key, for development (demo issuer, <c>gatehouse token mint</c>).</summary>
internal static class DevTokenMinter
{
    /// <summary>Signs <paramref name="claims"/> as an RFC 9068 access token (<c>typ: at+jwt</c>).</summary>
    public static string Mint(SecurityKey key, string algorithm, IDictionary<string, object> claims, string type = "at+jwt")
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var descriptor = new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, algorithm),
            TokenType = type,
        };
        return handler.CreateToken(descriptor);
    }

    /// <summary>The public JWKS document for a key, as an issuer publishes it.</summary>
    public static string PublicJwks(SecurityKey key, string algorithm)
    {
        var jwk = key switch
        {
            RsaSecurityKey rsa => JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.Rsa.ExportParameters(false)) { KeyId = rsa.KeyId }),
            ECDsaSecurityKey ec => JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ec.ECDsa.ExportParameters(false))) { KeyId = ec.KeyId }),
            _ => throw new NotSupportedException($"Key type {key.GetType().Name} is not supported for JWKS export."),
        };
        using var stream = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            writer.WriteStartObject();
            writer.WriteString("kty", jwk.Kty);
            writer.WriteString("kid", jwk.Kid);
            writer.WriteString("use", "sig");
            writer.WriteString("alg", algorithm);
            if (jwk.Kty == "RSA")
            {
                writer.WriteString("n", jwk.N);
                writer.WriteString("e", jwk.E);
            }
            else
            {
                writer.WriteString("crv", jwk.Crv);
                writer.WriteString("x", jwk.X);
                writer.WriteString("y", jwk.Y);
            }
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Loads a PEM private key (RSA or EC, PKCS#8 or traditional) as a signing key.</summary>
    public static (SecurityKey Key, string DefaultAlgorithm) LoadPrivateKey(string pem, string kid)
    {
        if (pem.Contains("EC PRIVATE KEY", StringComparison.Ordinal) || TryEc(pem, out _))
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            var alg = ec.KeySize switch { 384 => SecurityAlgorithms.EcdsaSha384, 521 => SecurityAlgorithms.EcdsaSha512, _ => SecurityAlgorithms.EcdsaSha256 };
            return (new ECDsaSecurityKey(ec) { KeyId = kid }, alg);
        }
        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        return (new RsaSecurityKey(rsa) { KeyId = kid }, SecurityAlgorithms.RsaSha256);
    }

    private static bool TryEc(string pem, out ECDsa? ec)
    {
        ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return true;
        }
        catch (CryptographicException)
        {
            ec.Dispose();
            ec = null;
            return false;
        }
        catch (ArgumentException)
        {
            ec.Dispose();
            ec = null;
            return false;
        }
    }
}
