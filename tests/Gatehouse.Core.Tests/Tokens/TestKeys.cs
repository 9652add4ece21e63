using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Tests.Tokens;

/// <summary>A signing key for tests (private part kept in memory, never committed).</summary>
public sealed class TestKey
{
    private TestKey(string kid, string alg, AsymmetricAlgorithm key)
    {
        Kid = kid;
        Alg = alg;
        Key = key;
    }

    public string Kid { get; }
    public string Alg { get; }
    public AsymmetricAlgorithm Key { get; }

    public static TestKey Rsa(string kid, string alg = "RS256", int bits = 2048) => new(kid, alg, RSA.Create(bits));

    public static TestKey Ec(string kid, string alg = "ES256")
    {
        var curve = alg switch
        {
            "ES384" => ECCurve.NamedCurves.nistP384,
            "ES512" => ECCurve.NamedCurves.nistP521,
            _ => ECCurve.NamedCurves.nistP256,
        };
        return new(kid, alg, ECDsa.Create(curve));
    }

    public JsonObject Jwk(bool includeAlg = false, bool includeKid = true)
    {
        var o = new JsonObject();
        if (Key is RSA rsa)
        {
            var p = rsa.ExportParameters(false);
            o["kty"] = "RSA";
            o["n"] = B64(p.Modulus!);
            o["e"] = B64(p.Exponent!);
        }
        else
        {
            var p = ((ECDsa)Key).ExportParameters(false);
            o["kty"] = "EC";
            o["crv"] = Alg switch { "ES384" => "P-384", "ES512" => "P-521", _ => "P-256" };
            o["x"] = B64(p.Q.X!);
            o["y"] = B64(p.Q.Y!);
        }

        if (includeKid)
        {
            o["kid"] = Kid;
        }

        o["use"] = "sig";
        if (includeAlg)
        {
            o["alg"] = Alg;
        }

        return o;
    }

    public static string Jwks(params TestKey[] keys) =>
        new JsonObject { ["keys"] = new JsonArray(keys.Select(k => (JsonNode)k.Jwk()).ToArray()) }.ToJsonString();

    public byte[] SignBytes(byte[] input, string alg) => Key switch
    {
        RSA rsa => rsa.SignData(input, Hash(alg), alg.StartsWith("PS", StringComparison.Ordinal) ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1),
        ECDsa ec => ec.SignData(input, Hash(alg), DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        _ => throw new InvalidOperationException(),
    };

    private static HashAlgorithmName Hash(string alg) => alg[2..] switch
    {
        "384" => HashAlgorithmName.SHA384,
        "512" => HashAlgorithmName.SHA512,
        _ => HashAlgorithmName.SHA256,
    };

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string B64(string text) => B64(Encoding.UTF8.GetBytes(text));
}

/// <summary>Builds JWTs for tests: raw header/payload JSON so malformed inputs are easy.</summary>
public static class TestTokens
{
    public const string Issuer = "https://idp.test/";
    public const string Audience = "orders";

    public static JsonObject Claims(DateTimeOffset now, TimeSpan? lifetime = null) => new()
    {
        ["iss"] = Issuer,
        ["sub"] = "alice",
        ["aud"] = Audience,
        ["iat"] = now.ToUnixTimeSeconds(),
        ["nbf"] = now.ToUnixTimeSeconds(),
        ["exp"] = (now + (lifetime ?? TimeSpan.FromMinutes(10))).ToUnixTimeSeconds(),
        ["jti"] = Guid.NewGuid().ToString("N"),
    };

    public static string Sign(TestKey key, JsonObject claims, string? alg = null, Action<JsonObject>? header = null)
    {
        var h = new JsonObject { ["alg"] = alg ?? key.Alg, ["kid"] = key.Kid, ["typ"] = "at+jwt" };
        header?.Invoke(h);
        return SignRaw(key, h.ToJsonString(), claims.ToJsonString(), alg ?? key.Alg);
    }

    public static string SignRaw(TestKey key, string headerJson, string payloadJson, string alg)
    {
        var input = TestKey.B64(headerJson) + "." + TestKey.B64(payloadJson);
        return input + "." + TestKey.B64(key.SignBytes(Encoding.ASCII.GetBytes(input), alg));
    }

    public static string SignHmac(byte[] secret, string headerJson, string payloadJson, string alg = "HS256")
    {
        var input = TestKey.B64(headerJson) + "." + TestKey.B64(payloadJson);
        var mac = alg switch
        {
            "HS384" => HMACSHA384.HashData(secret, Encoding.ASCII.GetBytes(input)),
            "HS512" => HMACSHA512.HashData(secret, Encoding.ASCII.GetBytes(input)),
            _ => HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)),
        };
        return input + "." + TestKey.B64(mac);
    }

    public static string Json(object o) => JsonSerializer.Serialize(o);
}
