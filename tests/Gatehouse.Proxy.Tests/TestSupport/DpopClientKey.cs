using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.TestSupport;

/// <summary>
/// A DPoP client (RFC 9449 §4): an EC P-256 key pair, its public JWK and RFC 7638 thumbprint (from IdentityModel,
/// independent of Gatehouse's), and proofs for a method + URL + access token.
/// </summary>
public sealed class DpopClientKey : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public Dictionary<string, string> PublicJwk
    {
        get
        {
            var p = _key.ExportParameters(false);
            return new Dictionary<string, string>
            {
                ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(p.Q.X), ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
            };
        }
    }

    /// <summary>The value of the token's <c>cnf.jkt</c>.</summary>
    public string Thumbprint => Base64UrlEncoder.Encode(new JsonWebKey(JsonSerializer.Serialize(PublicJwk)).ComputeJwkThumbprint());

    /// <summary>A proof (ES256) for <paramref name="method"/> <paramref name="url"/> bound to <paramref name="accessToken"/>.</summary>
    public string Proof(string method, string url, string accessToken, string? nonce = null)
    {
        var header = JsonSerializer.Serialize(new Dictionary<string, object> { ["typ"] = "dpop+jwt", ["alg"] = "ES256", ["jwk"] = PublicJwk });
        var claims = new Dictionary<string, object>
        {
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["htm"] = method,
            ["htu"] = url,
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["ath"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken))),
        };
        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        var input = Base64UrlEncoder.Encode(header) + "." + Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return input + "." + Base64UrlEncoder.Encode(signature);
    }

    public void Dispose() => _key.Dispose();
}
