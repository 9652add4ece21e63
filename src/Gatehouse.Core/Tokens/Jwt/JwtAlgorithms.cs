namespace Gatehouse.Tokens.Jwt;

/// <summary>The JWS algorithms Gatehouse can verify (RFC 7518 §3.1) and the key each needs.</summary>
internal static class JwtAlgorithms
{
    /// <summary>Asymmetric algorithms verified against JWKS keys.</summary>
    public static readonly IReadOnlySet<string> Asymmetric = new HashSet<string>(StringComparer.Ordinal)
    {
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    };

    /// <summary>HMAC algorithms; only ever accepted with an explicitly configured secret (RFC 8725 §3.1).</summary>
    public static readonly IReadOnlySet<string> Hmac = new HashSet<string>(StringComparer.Ordinal) { "HS256", "HS384", "HS512" };

    public static bool IsSupported(string alg) => Asymmetric.Contains(alg) || Hmac.Contains(alg);

    /// <summary>The JWK <c>kty</c> an algorithm needs (RFC 7518 §6.1).</summary>
    public static string? KeyTypeFor(string alg) => alg.Length < 2 ? null : alg[..2] switch
    {
        "RS" or "PS" => "RSA",
        "ES" => "EC",
        "HS" => "oct",
        // RFC 8037 §3.1: EdDSA uses Octet Key Pair keys; Gatehouse accepts the Ed25519 curve only.
        "Ed" => "OKP",
        _ => null,
    };

    /// <summary>The curve an ECDSA algorithm needs (RFC 7518 §3.4).</summary>
    public static string? CurveFor(string alg) => alg switch
    {
        "ES256" => "P-256",
        "ES384" => "P-384",
        "ES512" => "P-521",
        "EdDSA" => "Ed25519",
        _ => null,
    };

    /// <summary>The hash of an asymmetric JWS algorithm (RFC 7518 §3.1: the digits name the SHA-2 size).</summary>
    public static System.Security.Cryptography.HashAlgorithmName? HashFor(string alg) => alg switch
    {
        "RS256" or "PS256" or "ES256" => System.Security.Cryptography.HashAlgorithmName.SHA256,
        "RS384" or "PS384" or "ES384" => System.Security.Cryptography.HashAlgorithmName.SHA384,
        "RS512" or "PS512" or "ES512" => System.Security.Cryptography.HashAlgorithmName.SHA512,
        _ => null,
    };

    /// <summary>
    /// The shared instance of a supported algorithm name whose UTF-8 is <paramref name="utf8"/>, or null: the
    /// header's <c>alg</c> then costs no string per token (the verified-token cache keeps it in the facts).
    /// </summary>
    public static string? Known(ReadOnlySpan<byte> utf8)
    {
        foreach (var alg in All)
        {
            if (utf8.Length == alg.Length && System.Text.Ascii.Equals(utf8, alg))
            {
                return alg;
            }
        }

        return null;
    }

    private static readonly string[] All = ["RS256", "ES256", "PS256", "RS384", "RS512", "PS384", "PS512", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA"];

    /// <summary>Exact raw R||S signature length for ECDSA (RFC 7518 §3.4).</summary>
    public static int EcSignatureLength(string alg) => alg switch
    {
        "ES256" => 64,
        "ES384" => 96,
        "ES512" => 132,
        _ => -1,
    };

    /// <summary>Minimum HMAC key length in bytes: the hash size (RFC 7518 §3.2).</summary>
    public static int HmacMinKeyBytes(string alg) => alg switch
    {
        "HS256" => 32,
        "HS384" => 48,
        _ => 64,
    };
}
