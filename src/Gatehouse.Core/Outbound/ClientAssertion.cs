using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Outbound;

/// <summary>
/// RFC 7523 §2.2 / §3 client authentication (<c>private_key_jwt</c>, OIDC Core §9): a short-lived JWT signed with
/// the workload's private key, built and signed by Microsoft.IdentityModel (no hand-rolled JOSE). The key file is
/// re-read when its timestamp or size changes, so a rotated key is used by the next request.
/// </summary>
internal sealed class ClientAssertion : IDisposable
{
    /// <summary>RFC 7523 §2.2 <c>client_assertion_type</c>.</summary>
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    // Note: short on purpose (RFC 7523 §3 item 4: the AS may reject long-lived assertions; Okta caps at 1 h,
    // Entra at 10 min); a fresh assertion is made per token request.
    private static readonly TimeSpan s_lifetime = TimeSpan.FromSeconds(60);
    private static readonly JsonWebTokenHandler s_handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly string _path;
    private readonly string? _keyId;
    private readonly Lock _gate = new();
    private DateTime _stamp;
    private long _length = -1;
    private SigningCredentials? _credentials;
    private AsymmetricAlgorithm? _algorithm;

    public ClientAssertion(string keyFile, string? keyId)
    {
        _path = Path.GetFullPath(keyFile);
        _keyId = keyId;
    }

    /// <summary>Signs an assertion for <paramref name="clientId"/>, or returns null with a reason (unreadable key).</summary>
    public string? Create(string clientId, string audience, DateTimeOffset now, out string? error)
    {
        var credentials = Credentials(out error);
        if (credentials is null)
        {
            return null;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + s_lifetime).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = clientId,
                // RFC 7523 §3 item 7: a unique jti lets the AS refuse replays.
                ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            },
            SigningCredentials = credentials,
            TokenType = "JWT",
        };
        return s_handler.CreateToken(descriptor);
    }

    /// <summary>Loads the key now; null with a reason when the file cannot be used (for config checks).</summary>
    public static string? Validate(string keyFile)
    {
        using var assertion = new ClientAssertion(keyFile, null);
        assertion.Credentials(out var error);
        return error;
    }

    private SigningCredentials? Credentials(out string? error)
    {
        try
        {
            var info = new FileInfo(_path);
            if (!info.Exists)
            {
                error = "the client key file does not exist";
                return null;
            }

            lock (_gate)
            {
                if (_credentials is null || info.LastWriteTimeUtc != _stamp || info.Length != _length)
                {
                    var pem = File.ReadAllText(_path);
                    var (key, algorithm, owned) = Load(pem, _keyId);
                    if (key is null)
                    {
                        error = "the client key file holds no RSA or EC private key (PEM)";
                        return null;
                    }

                    _algorithm?.Dispose();
                    _algorithm = owned;
                    _credentials = new SigningCredentials(key, algorithm);
                    _stamp = info.LastWriteTimeUtc;
                    _length = info.Length;
                }

                error = null;
                return _credentials;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = "the client key file is unreadable: " + ex.Message;
            return null;
        }
    }

    private static (SecurityKey? Key, string Algorithm, AsymmetricAlgorithm? Owned) Load(string pem, string? keyId)
    {
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            var algorithm = ec.KeySize switch { 384 => SecurityAlgorithms.EcdsaSha384, 521 => SecurityAlgorithms.EcdsaSha512, _ => SecurityAlgorithms.EcdsaSha256 };
            return (new ECDsaSecurityKey(ec) { KeyId = keyId }, algorithm, ec);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            ec.Dispose();
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            if (rsa.KeySize < 2048)
            {
                rsa.Dispose();
                return (null, "", null);
            }

            return (new RsaSecurityKey(rsa) { KeyId = keyId }, SecurityAlgorithms.RsaSha256, rsa);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            rsa.Dispose();
            return (null, "", null);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _algorithm?.Dispose();
            _algorithm = null;
            _credentials = null;
        }
    }
}
