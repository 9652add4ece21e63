using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tokens.Dpop;

/// <summary>
/// The public key of a DPoP proof (its <c>jwk</c> header, RFC 9449 §4.2), imported into a BCL key, with its
/// RFC 7638 thumbprint. Only public keys of a type that fits the proof's <c>alg</c> are accepted (RFC 9449 §4.3
/// step 7: a <c>jwk</c> with private members is invalid). Signature checks are the BCL's own (or, for Ed25519, the
/// library named in docs/tokens.md): nothing here is hand-rolled crypto.
/// </summary>
/// <remarks>
/// Note: a client signs every proof with the same key, and importing a key (the EC point check, RSA parameter
/// import) costs more than verifying with it; imported keys are therefore kept by thumbprint (which covers every
/// key member, RFC 7638 §3.2), up to <see cref="CacheCapacity"/> keys, and shared by concurrent verifications
/// (the BCL's RSA/ECDsa verify is thread-safe). They are never disposed: the SafeHandles' finalizers free them.
/// </remarks>
internal sealed class DpopJwk
{
    /// <summary>Imported proof keys kept; beyond it the cache starts over (a miss only costs one import).</summary>
    public const int CacheCapacity = 10_000;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DpopJwk> s_imported = new(StringComparer.Ordinal);

    // RFC 7517 §4 / RFC 7518 §6.2.2, §6.3.2, §6.4 / RFC 8037 §2: members that hold private key material.
    private static readonly string[] s_privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;
    private readonly byte[]? _ed25519;

    private DpopJwk(string thumbprint, RSA? rsa, ECDsa? ecdsa, byte[]? ed25519)
    {
        Thumbprint = thumbprint;
        _rsa = rsa;
        _ecdsa = ecdsa;
        _ed25519 = ed25519;
    }

    /// <summary>The RFC 7638 JWK SHA-256 thumbprint, base64url (what <c>cnf.jkt</c> holds, RFC 9449 §6.1).</summary>
    public string Thumbprint { get; }

    /// <summary>
    /// Imports <paramref name="jwk"/> for <paramref name="alg"/>; null with <paramref name="problem"/> set to the
    /// <c>dpop.proof_invalid</c> detail (<c>jwk_private</c>, <c>jwk</c>) when it is not a usable public key.
    /// </summary>
    public static DpopJwk? TryImport(JsonElement jwk, string alg, out string problem)
    {
        problem = "jwk";
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var member in s_privateMembers)
        {
            if (jwk.TryGetProperty(member, out _))
            {
                problem = "jwk_private";
                return null;
            }
        }

        if (!TryString(jwk, "kty", out var kty))
        {
            return null;
        }

        try
        {
            switch (kty)
            {
                case "RSA" when alg[0] is 'R' or 'P':
                    return ImportRsa(jwk);
                case "EC" when alg[0] == 'E' && alg != DpopAlgorithms.EdDsa:
                    return ImportEc(jwk, alg);
                case "OKP" when alg == DpopAlgorithms.EdDsa:
                    return ImportOkp(jwk);
                default:
                    return null;
            }
        }
        catch (CryptographicException)
        {
            // Not a valid key (e.g. an EC point off the curve): an invalid proof, never an exception upward.
            return null;
        }
    }

    private static DpopJwk? ImportRsa(JsonElement jwk)
    {
        if (!TryKeyBytes(jwk, "n", out var nText, out var n) || !TryKeyBytes(jwk, "e", out var eText, out var e))
        {
            return null;
        }

        // RFC 7518 §3.3: keys of 2048 bits or larger MUST be used; a leading zero octet is not allowed (§6.3.1.1).
        if (n.Length < 256 || n[0] == 0 || e.Length is 0 or > 8)
        {
            return null;
        }

        // RFC 7638 §3.2: the required members of an RSA key, in lexicographic order, no whitespace.
        var thumbprint = ComputeThumbprint($"{{\"e\":\"{eText}\",\"kty\":\"RSA\",\"n\":\"{nText}\"}}");
        return Cached(thumbprint, "RSA") ?? Keep(new DpopJwk(thumbprint, RSA.Create(new RSAParameters { Modulus = n, Exponent = e }), null, null));
    }

    private static DpopJwk? ImportEc(JsonElement jwk, string alg)
    {
        var curveName = JwtAlgorithms.CurveFor(alg);
        if (curveName is null or "Ed25519" || !TryString(jwk, "crv", out var crv) || crv != curveName)
        {
            return null;
        }

        var size = curveName switch { "P-256" => 32, "P-384" => 48, _ => 66 };
        if (!TryKeyBytes(jwk, "x", out var xText, out var x) || !TryKeyBytes(jwk, "y", out var yText, out var y)
            || x.Length != size || y.Length != size)
        {
            return null;
        }

        var curve = curveName switch
        {
            "P-256" => ECCurve.NamedCurves.nistP256,
            "P-384" => ECCurve.NamedCurves.nistP384,
            _ => ECCurve.NamedCurves.nistP521,
        };
        var thumbprint = ComputeThumbprint($"{{\"crv\":\"{crv}\",\"kty\":\"EC\",\"x\":\"{xText}\",\"y\":\"{yText}\"}}");
        // ECDsa.Create validates that the point is on the curve (a CryptographicException otherwise).
        return Cached(thumbprint, "EC") ?? Keep(new DpopJwk(thumbprint, null, ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } }), null));
    }

    private static DpopJwk? ImportOkp(JsonElement jwk)
    {
        // RFC 8037 §2: OKP keys; only Ed25519 is accepted for EdDSA.
        if (!TryString(jwk, "crv", out var crv) || crv != "Ed25519" || !TryKeyBytes(jwk, "x", out var xText, out var x) || x.Length != 32)
        {
            return null;
        }

        // RFC 8037 §2 / RFC 7638 §3.2: crv, kty, x.
        return new DpopJwk(ComputeThumbprint($"{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{xText}\"}}"), null, null, x);
    }

    /// <summary>Verifies a JWS signature over <paramref name="signingInput"/> (RFC 7515 §5.2).</summary>
    public bool Verify(string alg, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
    {
        try
        {
            if (_ed25519 is not null)
            {
                return alg == DpopAlgorithms.EdDsa && Ed25519Verifier.Verify(_ed25519, signingInput, signature);
            }

            var hash = JwtAlgorithms.HashFor(alg);
            if (hash is not { } name)
            {
                return false;
            }

            if (_rsa is not null)
            {
                // RFC 7518 §3.3 (RSASSA-PKCS1-v1_5) and §3.5 (RSASSA-PSS).
                return _rsa.VerifyData(signingInput, signature, name, alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
            }

            // RFC 7518 §3.4: R || S, each the size of the curve.
            return _ecdsa is not null && signature.Length == JwtAlgorithms.EcSignatureLength(alg)
                && _ecdsa.VerifyData(signingInput, signature, name, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    // The thumbprint names the key type too (kty is part of its input), so a hit is the same key; the type check is
    // belt and braces.
    private static DpopJwk? Cached(string thumbprint, string kty) =>
        s_imported.TryGetValue(thumbprint, out var key) && (kty == "RSA" ? key._rsa is not null : key._ecdsa is not null) ? key : null;

    private static DpopJwk Keep(DpopJwk key)
    {
        if (s_imported.Count >= CacheCapacity)
        {
            s_imported.Clear();
        }

        return s_imported.GetOrAdd(key.Thumbprint, key);
    }

    private static string ComputeThumbprint(string canonicalJson)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(canonicalJson), hash);
        return Base64Url.EncodeToString(hash);
    }

    private static bool TryString(JsonElement jwk, string name, out string value)
    {
        value = "";
        if (!jwk.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = element.GetString()!;
        return true;
    }

    // Key members must be canonical base64url (RFC 7518 §6): that also makes them safe to copy verbatim into the
    // RFC 7638 thumbprint input (no JSON escaping can be needed).
    private static bool TryKeyBytes(JsonElement jwk, string name, out string text, out byte[] bytes)
    {
        bytes = [];
        if (!TryString(jwk, name, out text) || text.Length == 0 || text.Length > 2048)
        {
            return false;
        }

        var decoded = Base64UrlStrict.Decode(text);
        if (decoded is null)
        {
            return false;
        }

        bytes = decoded;
        return true;
    }
}
