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

    // Looks keys up by a thumbprint held in a stack buffer (no string per proof).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DpopJwk>.AlternateLookup<ReadOnlySpan<char>> s_byThumbprint =
        s_imported.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly System.Buffers.SearchValues<byte> s_base64Url =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"u8);

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
        var thumbprint = ComputeThumbprint($"{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{xText}\"}}");
        return Cached(thumbprint, "OKP") ?? Keep(new DpopJwk(thumbprint, null, null, x));
    }

    /// <summary>
    /// <see cref="TryImport(JsonElement, string, out string)"/> for a <c>jwk</c> read by <see cref="DpopProofReader"/>:
    /// the same checks in the same order, and no allocation when the key was imported before (the RFC 7638
    /// thumbprint input is built and hashed in stack buffers and the cache is searched with the thumbprint's chars).
    /// </summary>
    public static DpopJwk? TryImport(scoped ref DpopProofFields jwk, string alg, out string problem)
    {
        problem = "jwk";
        if (jwk.JwkKind != DpopMember.Object)
        {
            return null;
        }

        if (jwk.JwkPrivate)
        {
            problem = "jwk_private";
            return null;
        }

        if (jwk.KtyKind != DpopMember.String)
        {
            return null;
        }

        try
        {
            if (jwk.Kty.SequenceEqual("RSA"u8) && alg[0] is 'R' or 'P')
            {
                return ImportRsa(ref jwk);
            }

            if (jwk.Kty.SequenceEqual("EC"u8) && alg[0] == 'E' && alg != DpopAlgorithms.EdDsa)
            {
                return ImportEc(ref jwk, alg);
            }

            return jwk.Kty.SequenceEqual("OKP"u8) && alg == DpopAlgorithms.EdDsa ? ImportOkp(ref jwk) : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static DpopJwk? ImportRsa(scoped ref DpopProofFields jwk)
    {
        if (!IsKeyMember(jwk.NKind, jwk.N) || !IsKeyMember(jwk.EKind, jwk.E))
        {
            return null;
        }

        // RFC 7518 §3.3: 2048 bits or more; no leading zero octet (§6.3.1.1); a sane exponent.
        var nLength = Base64UrlStrict.DecodedLength(jwk.N.Length);
        var eLength = Base64UrlStrict.DecodedLength(jwk.E.Length);
        Span<byte> first = stackalloc byte[3];
        if (nLength < 256 || eLength is 0 or > 8
            || Base64Url.DecodeFromUtf8(jwk.N[..4], first, out _, out _, isFinalBlock: false) != System.Buffers.OperationStatus.Done || first[0] == 0)
        {
            return null;
        }

        Span<char> thumbprint = stackalloc char[43];
        HashThumbprint(thumbprint, "{\"e\":\""u8, jwk.E, "\",\"kty\":\"RSA\",\"n\":\""u8, jwk.N, "\"}"u8, default, default);
        if (s_byThumbprint.TryGetValue(thumbprint, out var known) && known.Is("RSA"))
        {
            return known;
        }

        var rsa = RSA.Create(new RSAParameters { Modulus = Base64Url.DecodeFromUtf8(jwk.N), Exponent = Base64Url.DecodeFromUtf8(jwk.E) });
        return Keep(new DpopJwk(thumbprint.ToString(), rsa, null, null));
    }

    private static DpopJwk? ImportEc(scoped ref DpopProofFields jwk, string alg)
    {
        var curveName = JwtAlgorithms.CurveFor(alg);
        if (curveName is null or "Ed25519" || jwk.CrvKind != DpopMember.String || !System.Text.Ascii.Equals(jwk.Crv, curveName))
        {
            return null;
        }

        var size = curveName switch { "P-256" => 32, "P-384" => 48, _ => 66 };
        if (!IsKeyMember(jwk.XKind, jwk.X) || !IsKeyMember(jwk.YKind, jwk.Y)
            || Base64UrlStrict.DecodedLength(jwk.X.Length) != size || Base64UrlStrict.DecodedLength(jwk.Y.Length) != size)
        {
            return null;
        }

        Span<char> thumbprint = stackalloc char[43];
        HashThumbprint(thumbprint, "{\"crv\":\""u8, jwk.Crv, "\",\"kty\":\"EC\",\"x\":\""u8, jwk.X, "\",\"y\":\""u8, jwk.Y, "\"}"u8);
        if (s_byThumbprint.TryGetValue(thumbprint, out var known) && known.Is("EC"))
        {
            return known;
        }

        var curve = curveName switch
        {
            "P-256" => ECCurve.NamedCurves.nistP256,
            "P-384" => ECCurve.NamedCurves.nistP384,
            _ => ECCurve.NamedCurves.nistP521,
        };
        // ECDsa.Create validates that the point is on the curve (a CryptographicException otherwise).
        var ecdsa = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = Base64Url.DecodeFromUtf8(jwk.X), Y = Base64Url.DecodeFromUtf8(jwk.Y) } });
        return Keep(new DpopJwk(thumbprint.ToString(), null, ecdsa, null));
    }

    private static DpopJwk? ImportOkp(scoped ref DpopProofFields jwk)
    {
        if (jwk.CrvKind != DpopMember.String || !jwk.Crv.SequenceEqual("Ed25519"u8)
            || !IsKeyMember(jwk.XKind, jwk.X) || Base64UrlStrict.DecodedLength(jwk.X.Length) != 32)
        {
            return null;
        }

        Span<char> thumbprint = stackalloc char[43];
        HashThumbprint(thumbprint, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\""u8, jwk.X, "\"}"u8, default, default, default, default);
        if (s_byThumbprint.TryGetValue(thumbprint, out var known) && known.Is("OKP"))
        {
            return known;
        }

        return Keep(new DpopJwk(thumbprint.ToString(), null, null, Base64Url.DecodeFromUtf8(jwk.X)));
    }

    // Key members must be canonical base64url (RFC 7518 §6), as TryKeyBytes requires of the JsonElement path: that
    // also makes them safe to copy verbatim into the RFC 7638 thumbprint input (no JSON escaping can be needed).
    private static bool IsKeyMember(DpopMember kind, ReadOnlySpan<byte> text)
    {
        if (kind != DpopMember.String || text.Length == 0 || text.Length > 2048 || text.Length % 4 == 1 || text.ContainsAnyExcept(s_base64Url))
        {
            return false;
        }

        // RFC 4648 §3.5: the unused low bits of the last character must be zero.
        var last = text[^1] switch
        {
            >= (byte)'A' and <= (byte)'Z' => text[^1] - 'A',
            >= (byte)'a' and <= (byte)'z' => text[^1] - 'a' + 26,
            >= (byte)'0' and <= (byte)'9' => text[^1] - '0' + 52,
            (byte)'-' => 62,
            _ => 63,
        };
        return (text.Length % 4) switch
        {
            2 => (last & 0x0F) == 0,
            3 => (last & 0x03) == 0,
            _ => true,
        };
    }

    // RFC 7638 §3: SHA-256 over the required members in lexicographic order without whitespace, assembled from
    // the parts in a stack (or, for large RSA keys, pooled) buffer; base64url into thumbprint (43 chars).
    private static void HashThumbprint(
        Span<char> thumbprint,
        ReadOnlySpan<byte> a,
        ReadOnlySpan<byte> b,
        ReadOnlySpan<byte> c,
        ReadOnlySpan<byte> d,
        ReadOnlySpan<byte> e,
        ReadOnlySpan<byte> f,
        ReadOnlySpan<byte> g)
    {
        var length = a.Length + b.Length + c.Length + d.Length + e.Length + f.Length + g.Length;
        byte[]? rented = null;
        var buffer = length <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        try
        {
            a.CopyTo(buffer);
            var offset = a.Length;
            b.CopyTo(buffer[offset..]);
            offset += b.Length;
            c.CopyTo(buffer[offset..]);
            offset += c.Length;
            d.CopyTo(buffer[offset..]);
            offset += d.Length;
            e.CopyTo(buffer[offset..]);
            offset += e.Length;
            f.CopyTo(buffer[offset..]);
            offset += f.Length;
            g.CopyTo(buffer[offset..]);
            offset += g.Length;

            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(buffer[..offset], hash);
            Base64Url.EncodeToChars(hash, thumbprint);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
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
        s_imported.TryGetValue(thumbprint, out var key) && key.Is(kty) ? key : null;

    private bool Is(string kty) => kty switch
    {
        "RSA" => _rsa is not null,
        "EC" => _ecdsa is not null,
        _ => _ed25519 is not null,
    };

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
