using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tokens.Jwt;

/// <summary>
/// The HMAC secret of an issuer, from <c>hmac_secret_file</c> only (RFC 8725 §3.1: HMAC is never used with a key
/// from a JWKS, so an RSA public key can never be abused as an HMAC secret). Re-read when the file changes.
/// </summary>
internal sealed class HmacKeySource(string path)
{
    private readonly SecretFile _file = new(path);
    private string? _lastSecret;
    private SymmetricSecurityKey? _key;

    public string Path => _file.Path;

    /// <summary>The current key, or null with an error.</summary>
    public SymmetricSecurityKey? Get(out string? error)
    {
        var secret = _file.Read(out error);
        if (secret is null)
        {
            return null;
        }

        var key = _key;
        if (key is null || !ReferenceEquals(secret, _lastSecret))
        {
            key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret));
            _key = key;
            _lastSecret = secret;
        }

        return key;
    }
}
