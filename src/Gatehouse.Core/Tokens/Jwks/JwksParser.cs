using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Tokens.Jwt;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tokens.Jwks;

/// <summary>
/// Parses a JWK Set (RFC 7517 §5) into verification keys: RSA, EC (P-256/384/521) and OKP Ed25519 (RFC 8037).
/// Unsupported or unusable keys (oct, other OKP curves, encryption keys, RSA below 2048 bits, unknown curves, bad material) are skipped with a warning, never a failure of the whole set.
/// </summary>
internal static class JwksParser
{
    /// <summary>RFC 7518 §3.3: RSA keys of 2048 bits or more.</summary>
    public const int MinRsaBits = 2048;

    public static KeySet? Parse(ReadOnlySpan<byte> document, Action<string?, string> skipped, out string? error)
    {
        error = null;
        var result = StrictJson.TryParseObject(document, 16, out var root, out var detail);
        if (result != StrictJson.Error.None)
        {
            error = $"JWKS is not a valid JSON object: {detail ?? result.ToString()}";
            return null;
        }

        if (!root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
        {
            error = "JWKS has no \"keys\" array (RFC 7517 §5.1)";
            return null;
        }

        var list = new List<SigningKey>();
        var kids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var jwk in keys.EnumerateArray())
        {
            var key = ParseKey(jwk, out var why);
            if (key is null)
            {
                skipped(jwk.ValueKind == JsonValueKind.Object && jwk.TryGetProperty("kid", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null, why!);
                continue;
            }

            if (key.Kid is not null && !kids.Add(key.Kid))
            {
                skipped(key.Kid, "duplicate kid in the JWKS; the first key with this kid is used");
                continue;
            }

            list.Add(key);
        }

        return new KeySet(list);
    }

    private static SigningKey? ParseKey(JsonElement jwk, out string? why)
    {
        why = null;
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            why = "not a JSON object";
            return null;
        }

        var kty = Str(jwk, "kty");
        var kid = Str(jwk, "kid");
        var alg = Str(jwk, "alg");
        var use = Str(jwk, "use");

        // RFC 7517 §4.2 / §4.3: only signature keys.
        if (use is not null && use != "sig")
        {
            why = $"use is \"{use}\", not sig";
            return null;
        }

        if (jwk.TryGetProperty("key_ops", out var ops) && ops.ValueKind == JsonValueKind.Array && !ops.EnumerateArray().Any(o => o.ValueKind == JsonValueKind.String && o.GetString() == "verify"))
        {
            why = "key_ops does not include verify";
            return null;
        }

        if (alg is not null && !JwtAlgorithms.Asymmetric.Contains(alg))
        {
            why = $"alg {alg} is not supported";
            return null;
        }

        try
        {
            switch (kty)
            {
                case "RSA":
                {
                    var n = B64(jwk, "n");
                    var e = B64(jwk, "e");
                    if (n is null || e is null)
                    {
                        why = "RSA key without n or e";
                        return null;
                    }

                    var modulusBits = (n.Length - (n[0] == 0 ? 1 : 0)) * 8;
                    if (modulusBits < MinRsaBits)
                    {
                        why = $"RSA key of {modulusBits} bits is below {MinRsaBits} (RFC 7518 §3.3)";
                        return null;
                    }

                    var rsa = RSA.Create();
                    rsa.ImportParameters(new RSAParameters { Modulus = n, Exponent = e });
                    var key = new RsaSecurityKey(rsa) { KeyId = kid };
                    return new SigningKey(kid, "RSA", null, alg, $"{kid}|RSA|{Convert.ToBase64String(n)}|{Convert.ToBase64String(e)}", key);
                }

                case "EC":
                {
                    var crv = Str(jwk, "crv");
                    var curve = crv switch
                    {
                        "P-256" => ECCurve.NamedCurves.nistP256,
                        "P-384" => ECCurve.NamedCurves.nistP384,
                        "P-521" => ECCurve.NamedCurves.nistP521,
                        _ => (ECCurve?)null,
                    };
                    if (curve is null)
                    {
                        why = $"EC curve \"{crv}\" is not supported";
                        return null;
                    }

                    var x = B64(jwk, "x");
                    var y = B64(jwk, "y");
                    if (x is null || y is null)
                    {
                        why = "EC key without x or y";
                        return null;
                    }

                    var ecdsa = ECDsa.Create(new ECParameters { Curve = curve.Value, Q = new ECPoint { X = x, Y = y } });
                    var key = new ECDsaSecurityKey(ecdsa) { KeyId = kid };
                    return new SigningKey(kid, "EC", crv, alg, $"{kid}|EC|{crv}|{Convert.ToBase64String(x)}|{Convert.ToBase64String(y)}", key);
                }

                case "OKP":
                {
                    // RFC 8037 §2: an Octet Key Pair; only Ed25519 (EdDSA) is accepted.
                    var crv = Str(jwk, "crv");
                    var x = B64(jwk, "x");
                    if (crv != "Ed25519" || x is null || x.Length != Jwt.Ed25519Verifier.PublicKeyBytes)
                    {
                        why = crv != "Ed25519" ? $"OKP curve \"{crv}\" is not supported (Ed25519 only)" : "Ed25519 key without a 32-byte x";
                        return null;
                    }

                    var key = new JsonWebKey { Kty = "OKP", Crv = crv, X = Str(jwk, "x"), Kid = kid };
                    return new SigningKey(kid, "OKP", crv, alg, $"{kid}|OKP|{crv}|{Convert.ToBase64String(x)}", key, x);
                }

                default:
                    why = $"key type \"{kty}\" is not supported for verification";
                    return null;
            }
        }
        catch (CryptographicException ex)
        {
            why = $"bad key material: {ex.Message}";
            return null;
        }
    }

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static byte[]? B64(JsonElement o, string name)
    {
        var s = Str(o, name);
        if (string.IsNullOrEmpty(s))
        {
            return null;
        }

        return Base64UrlStrict.Decode(s);
    }
}
