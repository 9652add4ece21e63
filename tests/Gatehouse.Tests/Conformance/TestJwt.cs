using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Tests.Conformance;

/// <summary>
/// Mints JWTs with the provider's own private keys (for shapes the provider does not issue: array <c>aud</c>,
/// future <c>nbf</c>…) and crafts the hostile variants of peers README §7.
/// </summary>
internal static class TestJwt
{
    public static Dictionary<string, object> Claims(OidcProviderFixture idp, object audience, string scope = "read")
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new Dictionary<string, object>
        {
            ["iss"] = idp.Issuer,
            ["sub"] = "bench-client",
            ["client_id"] = "bench-client",
            ["aud"] = audience,
            ["scope"] = scope,
            ["iat"] = now,
            ["exp"] = now + 300,
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
    }

    public static string SignRs256(ProviderKeys keys, IReadOnlyDictionary<string, object> claims, string? kid = null)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(keys.RsPrivateKeyPem));
        var signingInput = SigningInput(Header("RS256", kid ?? keys.RsKid), claims);
        return signingInput + "." + Base64Url.EncodeToString(rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    public static string SignEs256(ProviderKeys keys, IReadOnlyDictionary<string, object> claims, string kid)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(File.ReadAllText(keys.EcPrivateKeyPem));
        var signingInput = SigningInput(Header("ES256", kid), claims);
        // Note: JWS ECDSA signatures are raw R‖S (IEEE P1363), .NET's default format.
        return signingInput + "." + Base64Url.EncodeToString(ecdsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256));
    }

    /// <summary>The key-confusion attack: HS256 with the RSA public key (PEM bytes) as the HMAC secret.</summary>
    public static string SignHs256WithPublicKey(ProviderKeys keys, IReadOnlyDictionary<string, object> claims)
    {
        var secret = File.ReadAllBytes(keys.RsPublicKeyPem);
        var signingInput = SigningInput(Header("HS256", keys.RsKid), claims);
        return signingInput + "." + Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));
    }

    public static string Unsigned(ProviderKeys keys, IReadOnlyDictionary<string, object> claims) =>
        SigningInput(Header("none", keys.RsKid), claims) + ".";

    /// <summary>
    /// Changes only the unused low bits of the signature's last base64url character (peers README §7.1): a lenient
    /// decoder yields the same signature bytes, so a verifier that accepts it does not check canonical encoding.
    /// </summary>
    public static string WithNonCanonicalLastSignatureChar(string jwt)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var signature = jwt[(jwt.LastIndexOf('.') + 1)..];
        var unusedBits = signature.Length * 6 % 8;
        if (unusedBits == 0)
        {
            throw new InvalidOperationException($"a {signature.Length}-character signature has no padding bits to change");
        }
        var value = alphabet.IndexOf(signature[^1], StringComparison.Ordinal);
        var changed = alphabet[value ^ 1];
        var result = jwt[..^1] + changed;
        var bytes = Base64Url.DecodeFromChars(signature);
        var lenient = LenientDecode(result[(result.LastIndexOf('.') + 1)..]);
        if (!bytes.AsSpan().SequenceEqual(lenient))
        {
            throw new InvalidOperationException("the altered signature must decode to the same bytes under a lenient decoder");
        }
        return result;
    }

    private static byte[] LenientDecode(string base64Url)
    {
        var text = base64Url.Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + (4 - text.Length % 4) % 4, '=');
        return Convert.FromBase64String(text); // Note: Convert ignores non-zero trailing bits, like cjose and njs do.
    }

    private static Dictionary<string, object> Header(string alg, string kid) => new() { ["alg"] = alg, ["typ"] = "at+jwt", ["kid"] = kid };

    private static string SigningInput(IReadOnlyDictionary<string, object> header, IReadOnlyDictionary<string, object> claims) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
}
