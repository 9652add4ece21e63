using System.Security.Cryptography;
using Gatehouse.Tokens.Jwt;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tokens.Jwks;

/// <summary>
/// One verification key of an issuer. The same instance survives refreshes while the key stays in the JWKS (same
/// kid and key material); when it leaves, it is revoked: every verified-cache entry that points at it stops
/// hitting at once.
/// </summary>
internal sealed class SigningKey
{
    private volatile bool _revoked;

    // The BCL key the JWK was imported into, held once per key: verifying is then one VerifyData call, with no
    // IdentityModel provider lookup (which builds a cache-key string per call) and no per-call allocation.
    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;

    // RFC 8037: the 32-byte Ed25519 public key of an OKP key (verified by Ed25519Verifier), or null.
    private readonly byte[]? _ed25519;

    public SigningKey(string? kid, string kty, string? curve, string? alg, string identity, SecurityKey key, byte[]? ed25519PublicKey = null)
    {
        _ed25519 = ed25519PublicKey;
        Kid = kid;
        KeyType = kty;
        Curve = curve;
        Algorithm = alg;
        Identity = identity;
        Key = key;
        _rsa = key is RsaSecurityKey rsaKey ? rsaKey.Rsa ?? RSA.Create(rsaKey.Parameters) : null;
        _ecdsa = (key as ECDsaSecurityKey)?.ECDsa;
    }

    public string? Kid { get; }

    /// <summary>RSA, EC or oct (RFC 7518 §6.1).</summary>
    public string KeyType { get; }

    public string? Curve { get; }

    /// <summary>The JWK's own <c>alg</c> (RFC 7517 §4.4), when it has one.</summary>
    public string? Algorithm { get; }

    /// <summary>kid + key material: two keys with the same identity are the same key.</summary>
    public string Identity { get; }

    public SecurityKey Key { get; }

    public bool Revoked => _revoked;

    public void Revoke() => _revoked = true;

    /// <summary>RFC 8725 §3.1: the algorithm must fit the key type (and curve), and the key's own alg when set.</summary>
    public bool Fits(string alg)
    {
        if (Algorithm is not null && !string.Equals(Algorithm, alg, StringComparison.Ordinal))
        {
            return false;
        }

        if (!string.Equals(JwtAlgorithms.KeyTypeFor(alg), KeyType, StringComparison.Ordinal))
        {
            return false;
        }

        return KeyType is not ("EC" or "OKP") || string.Equals(JwtAlgorithms.CurveFor(alg), Curve, StringComparison.Ordinal);
    }

    /// <summary>
    /// Verifies a JWS signature (RFC 7515 §5.2) made with <paramref name="alg"/> over <paramref name="signingInput"/>.
    /// The caller has already checked <see cref="Fits"/> (RFC 8725 §3.1); an algorithm this key type cannot verify is
    /// a failure, never a fallback. Thread-safe: the OpenSSL/CNG-backed <see cref="RSA"/> and <see cref="ECDsa"/>
    /// create a per-call context for verification, as IdentityModel's shared signature providers rely on.
    /// </summary>
    public bool Verify(string alg, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
    {
        if (_ed25519 is not null)
        {
            // RFC 8037 §3.1: EdDSA over the JWS signing input, no pre-hash.
            return alg == Configuration.DpopAlgorithms.EdDsa && Jwt.Ed25519Verifier.Verify(_ed25519, signingInput, signature);
        }

        var hash = JwtAlgorithms.HashFor(alg);
        if (hash is not { } name)
        {
            return false;
        }

        try
        {
            if (_rsa is not null)
            {
                // RFC 7518 §3.3 (RSASSA-PKCS1-v1_5) and §3.5 (RSASSA-PSS, MGF1 with the same hash).
                var padding = alg[0] switch
                {
                    'R' => RSASignaturePadding.Pkcs1,
                    'P' => RSASignaturePadding.Pss,
                    _ => null,
                };
                return padding is not null && _rsa.VerifyData(signingInput, signature, name, padding);
            }

            // RFC 7518 §3.4: the JWS signature is R || S, each the curve's size (the caller checked the length).
            return _ecdsa is not null && alg[0] == 'E'
                && _ecdsa.VerifyData(signingInput, signature, name, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>An immutable set of keys, swapped atomically on refresh.</summary>
internal sealed class KeySet
{
    public static readonly KeySet Empty = new([]);

    private readonly Dictionary<string, SigningKey> _byKid;

    public KeySet(IReadOnlyList<SigningKey> keys)
    {
        Keys = keys;
        _byKid = new Dictionary<string, SigningKey>(StringComparer.Ordinal);
        foreach (var k in keys)
        {
            if (k.Kid is not null)
            {
                // Note: the first key with a given kid wins; duplicates are skipped by the parser with a warning.
                _byKid.TryAdd(k.Kid, k);
            }
        }
    }

    public IReadOnlyList<SigningKey> Keys { get; }

    public int Count => Keys.Count;

    public SigningKey? ByKid(string kid) => _byKid.GetValueOrDefault(kid);

    /// <summary>A token without <c>kid</c> is accepted only when exactly one key fits its alg (no trial).</summary>
    public SigningKey? SingleFitting(string alg)
    {
        SigningKey? found = null;
        foreach (var k in Keys)
        {
            if (k.Fits(alg))
            {
                if (found is not null)
                {
                    return null;
                }

                found = k;
            }
        }

        return found;
    }
}
