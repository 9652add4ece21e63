using System.Text.Json;
using Gatehouse.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tokens.TxnTokens;

/// <summary>A Txn-Token verified against this service's own keys: its claims, or why it was refused.</summary>
public readonly struct TxnTokenValidation
{
    private TxnTokenValidation(JsonElement claims, string? kid, string? problem)
    {
        Claims = claims;
        KeyId = kid;
        Problem = problem;
    }

    /// <summary>True when the token is valid.</summary>
    public bool Succeeded => Problem is null;
    /// <summary>The payload (a detached copy), when valid.</summary>
    public JsonElement Claims { get; }
    /// <summary>The <c>kid</c> it was signed under.</summary>
    public string? KeyId { get; }
    /// <summary>Why it was refused (never contains the token).</summary>
    public string? Problem { get; }

    internal static TxnTokenValidation Valid(JsonElement claims, string? kid) => new(claims, kid, null);

    internal static TxnTokenValidation Invalid(string problem) => new(default, null, problem);
}

/// <summary>
/// Verifies a Txn-Token this trust domain's Txn-Token Service issued, with the keys of the ring (the active key and
/// every retiring one): the signature through Microsoft.IdentityModel, <c>typ</c> = <c>txntoken+jwt</c>, <c>iss</c>,
/// <c>aud</c> = the trust domain, and <c>exp</c> against the injected clock with no leeway — the draft says a
/// replacement MUST NOT be issued for an expired Txn-Token ("Txn-Token as a subject_token"). Used by the service for
/// replacement requests and by <c>gatehouse demo</c>; sidecars verify through issuers of <c>kind: txn_token</c>.
/// </summary>
public static class TxnTokenValidator
{
    private static readonly JsonWebTokenHandler s_handler = new();
    private static readonly TimeSpan s_futureIatSkew = TimeSpan.FromSeconds(5);

    /// <summary>Validates <paramref name="token"/> at <paramref name="now"/>.</summary>
    public static async ValueTask<TxnTokenValidation> ValidateAsync(string token, TxnTokensConfig config, TxnSigningKeyRing ring, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(ring);
        if (string.IsNullOrEmpty(token) || token.Length > 64 * 1024)
        {
            return TxnTokenValidation.Invalid("not a Txn-Token (empty or larger than 64 KiB)");
        }

        var keys = new List<SecurityKey>(ring.Keys.Count);
        var algorithms = new List<string>(ring.Keys.Count);
        foreach (var key in ring.Keys)
        {
            keys.Add(key.PublicKey);
            if (!algorithms.Contains(key.Algorithm))
            {
                algorithms.Add(key.Algorithm);
            }
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = config.Issuer,
            ValidAudience = config.Audience,
            IssuerSigningKeys = keys,
            ValidAlgorithms = algorithms,
            ValidTypes = [TxnTokenProtocol.JwtType],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            // Note: lifetime is checked below against the injected TimeProvider, not the wall clock.
            ValidateLifetime = false,
            TryAllIssuerSigningKeys = false,
        };

        TokenValidationResult result;
        try
        {
            result = await s_handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            return TxnTokenValidation.Invalid("malformed token");
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return TxnTokenValidation.Invalid(Describe(result.Exception));
        }

        if (!jwt.TryGetPayloadValue<long>(TxnTokenProtocol.Claims.ExpiresAt, out var exp) || exp <= now.ToUnixTimeSeconds())
        {
            return TxnTokenValidation.Invalid("expired");
        }

        if (jwt.TryGetPayloadValue<long>(TxnTokenProtocol.Claims.IssuedAt, out var iat) && DateTimeOffset.FromUnixTimeSeconds(iat) > now + s_futureIatSkew)
        {
            return TxnTokenValidation.Invalid("issued in the future");
        }

        using var document = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
        return TxnTokenValidation.Valid(document.RootElement.Clone(), jwt.Kid);
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenInvalidTypeException => "typ is not txntoken+jwt",
        SecurityTokenInvalidAudienceException => "aud is not this trust domain",
        SecurityTokenInvalidIssuerException => "iss is not this Txn-Token Service",
        SecurityTokenSignatureKeyNotFoundException => "signed by an unknown key",
        SecurityTokenInvalidSignatureException => "bad signature",
        SecurityTokenInvalidAlgorithmException => "algorithm not allowed",
        SecurityTokenMalformedException => "malformed token",
        _ => "invalid Txn-Token",
    };
}
