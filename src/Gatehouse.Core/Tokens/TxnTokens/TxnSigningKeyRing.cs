using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Configuration;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tokens.TxnTokens;

/// <summary>One key of the ring: its id, algorithm, the public key verifiers use, and (for the active key) the signer.</summary>
public sealed class TxnSigningKey
{
    internal TxnSigningKey(string keyId, string algorithm, AsymmetricSecurityKey publicKey, bool active)
    {
        KeyId = keyId;
        Algorithm = algorithm;
        PublicKey = publicKey;
        Active = active;
    }

    /// <summary>The <c>kid</c>.</summary>
    public string KeyId { get; }
    /// <summary>The JWS algorithm it signs with.</summary>
    public string Algorithm { get; }
    /// <summary>The public half (what the JWKS publishes and verification uses).</summary>
    public AsymmetricSecurityKey PublicKey { get; }
    /// <summary>True for the one key that signs new tokens.</summary>
    public bool Active { get; }
}

/// <summary>
/// The Txn-Token signing keys of one config snapshot: immutable. The active key signs; every key, retiring ones
/// included, is published in the JWKS and verifies (draft -10, "TTS Key Rotation", following OIDC Core §10.1.1:
/// a new key is published before it signs, an old one stays published until the tokens it signed have expired).
/// Private keys live only in the signing credentials, never in the JWKS document.
/// </summary>
/// <remarks>Not disposable on purpose: a request in flight may still sign or verify with the ring of the snapshot it
/// started on; the key handles are released by their finalizers once no snapshot references them.</remarks>
public sealed class TxnSigningKeyRing
{
    private TxnSigningKeyRing(IReadOnlyList<TxnSigningKey> keys, TxnSigningKey active, SigningCredentials credentials, byte[] jwks)
    {
        Keys = keys;
        ActiveKey = active;
        SigningCredentials = credentials;
        JwksDocument = jwks;
    }

    /// <summary>Every key, in config order.</summary>
    public IReadOnlyList<TxnSigningKey> Keys { get; }
    /// <summary>The key that signs.</summary>
    public TxnSigningKey ActiveKey { get; }
    /// <summary>Credentials of the active key (private), for <see cref="TxnTokenMinter"/>.</summary>
    internal SigningCredentials SigningCredentials { get; }
    /// <summary>The RFC 7517 JWKS of every key (public parameters only), UTF-8 JSON, built once.</summary>
    public byte[] JwksDocument { get; }

    /// <summary>The key named <paramref name="keyId"/>, or null.</summary>
    public TxnSigningKey? Find(string? keyId)
    {
        foreach (var key in Keys)
        {
            if (string.Equals(key.KeyId, keyId, StringComparison.Ordinal))
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>Loads the keys of <paramref name="config"/> from their files; null with a reason when one cannot be used.</summary>
    public static TxnSigningKeyRing? Load(TxnTokensConfig config, out string? error)
    {
        ArgumentNullException.ThrowIfNull(config);
        var keys = new List<TxnSigningKey>(config.SigningKeys.Count);
        SigningCredentials? credentials = null;
        TxnSigningKey? active = null;
        var activeConfig = config.SigningKeys.Count > 0 ? config.ActiveKey : null;
        foreach (var keyConfig in config.SigningKeys)
        {
            string pem;
            try
            {
                pem = File.ReadAllText(keyConfig.File);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error = $"txn_tokens key '{keyConfig.KeyId}': cannot read {keyConfig.File}: {ex.Message}";
                return null;
            }

            // The same rule check applies: a file swapped between check and load is refused, never half-used.
            if (TxnSigningKeyFile.Check(pem, keyConfig.Algorithm) is { } problem)
            {
                error = $"txn_tokens key '{keyConfig.KeyId}': {problem}";
                return null;
            }

            var isActive = ReferenceEquals(keyConfig, activeConfig);
            AsymmetricSecurityKey publicKey;
            AsymmetricSecurityKey? privateKey = null;
            if (keyConfig.Algorithm.StartsWith("ES", StringComparison.Ordinal))
            {
                var full = ECDsa.Create();
                full.ImportFromPem(pem);
                var pub = ECDsa.Create(full.ExportParameters(includePrivateParameters: false));
                publicKey = new ECDsaSecurityKey(pub) { KeyId = keyConfig.KeyId };
                if (isActive)
                {
                    privateKey = new ECDsaSecurityKey(full) { KeyId = keyConfig.KeyId };
                }
                else
                {
                    full.Dispose();
                }
            }
            else
            {
                var full = RSA.Create();
                full.ImportFromPem(pem);
                var pub = RSA.Create(full.ExportParameters(includePrivateParameters: false));
                publicKey = new RsaSecurityKey(pub) { KeyId = keyConfig.KeyId };
                if (isActive)
                {
                    privateKey = new RsaSecurityKey(full) { KeyId = keyConfig.KeyId };
                }
                else
                {
                    full.Dispose();
                }
            }

            var key = new TxnSigningKey(keyConfig.KeyId, keyConfig.Algorithm, publicKey, isActive);
            keys.Add(key);
            if (isActive)
            {
                active = key;
                credentials = new SigningCredentials(privateKey!, keyConfig.Algorithm)
                {
                    // Note: a fresh provider per signature would cost an allocation per request; IdentityModel caches it.
                    CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = true },
                };
            }
        }

        if (active is null || credentials is null)
        {
            error = "txn_tokens: no active signing key";
            return null;
        }

        error = null;
        return new TxnSigningKeyRing(keys, active, credentials, BuildJwks(keys));
    }

    /// <summary>RFC 7517 §5: one JWK per key, public members only, with <c>use</c>, <c>alg</c> and <c>kid</c>.</summary>
    private static byte[] BuildJwks(List<TxnSigningKey> keys)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var key in keys)
            {
                writer.WriteStartObject();
                switch (key.PublicKey)
                {
                    case ECDsaSecurityKey ec:
                    {
                        var p = ec.ECDsa.ExportParameters(includePrivateParameters: false);
                        writer.WriteString("kty", "EC");
                        writer.WriteString("crv", key.Algorithm switch { "ES256" => "P-256", "ES384" => "P-384", _ => "P-521" });
                        writer.WriteString("x", Base64UrlEncoder.Encode(p.Q.X!));
                        writer.WriteString("y", Base64UrlEncoder.Encode(p.Q.Y!));
                        break;
                    }
                    case RsaSecurityKey rsa:
                    {
                        var p = rsa.Rsa.ExportParameters(includePrivateParameters: false);
                        writer.WriteString("kty", "RSA");
                        writer.WriteString("n", Base64UrlEncoder.Encode(p.Modulus!));
                        writer.WriteString("e", Base64UrlEncoder.Encode(p.Exponent!));
                        break;
                    }
                }

                writer.WriteString("use", "sig");
                writer.WriteString("alg", key.Algorithm);
                writer.WriteString("kid", key.KeyId);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
