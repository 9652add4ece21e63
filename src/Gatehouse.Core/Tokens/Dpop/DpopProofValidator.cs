using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Model;
using Gatehouse.Routing;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tokens.Dpop;

/// <summary>What a proof must match: the request as the client addressed it, and the access token it came with.</summary>
public readonly record struct DpopExpectations(
    string Method,
    DpopOrigin RequestOrigin,
    string NormalizedPath,
    PathNormalizationConfig Paths,
    string AccessToken,
    string? TokenThumbprint,
    DateTimeOffset Now);

/// <summary>The outcome of <see cref="DpopProofValidator.Validate"/>: a verified proof, or the failed check.</summary>
public readonly struct DpopProofResult
{
    private DpopProofResult(string? reason, string? thumbprint, string? jti, double iat, string? nonce)
    {
        Reason = reason;
        Thumbprint = thumbprint;
        Jti = jti;
        Iat = iat;
        Nonce = nonce;
    }

    /// <summary>True when every stateless check of RFC 9449 §4.3 passed (replay and nonce are checked by the caller).</summary>
    public bool Ok => Reason is null;

    /// <summary>A <c>dpop.*</c> reason code with its detail, on failure.</summary>
    public string? Reason { get; }

    /// <summary>The proof key's RFC 7638 thumbprint.</summary>
    public string? Thumbprint { get; }

    /// <summary>The proof's <c>jti</c>.</summary>
    public string? Jti { get; }

    /// <summary>The proof's <c>iat</c> (seconds since the epoch).</summary>
    public double Iat { get; }

    /// <summary>The proof's <c>nonce</c>, when it has one.</summary>
    public string? Nonce { get; }

    internal static DpopProofResult Success(string thumbprint, string jti, double iat, string? nonce) => new(null, thumbprint, jti, iat, nonce);

    internal static DpopProofResult Invalid(string detail) => new(ReasonCodes.DpopProofInvalid + ":" + detail, null, null, 0, null);

    internal static DpopProofResult Failure(string reason) => new(reason, null, null, 0, null);
}

/// <summary>
/// The stateless checks of a DPoP proof, RFC 9449 §4.3, each failing with its own detail of
/// <c>dpop.proof_invalid</c>: one <c>DPoP</c> header (step 1) holding one well-formed JWS (step 2) with every
/// required claim (<c>jti</c>, <c>htm</c>, <c>htu</c>, <c>iat</c>, <c>ath</c>; step 3), <c>typ: dpop+jwt</c> (step 4),
/// an asymmetric <c>alg</c> from the listener's allow-list (step 5), a signature that verifies with the public
/// <c>jwk</c> of the header (steps 6, 7), <c>htm</c> and <c>htu</c> matching the request (steps 8, 9), <c>iat</c>
/// within the window (step 11), and <c>ath</c> plus the key binding to the token (step 12, §7.1 →
/// <c>dpop.binding_mismatch</c>). The nonce (step 10) and <c>jti</c> uniqueness (§11.1) need state:
/// <see cref="DpopVerifier"/> does them.
/// </summary>
public static class DpopProofValidator
{
    /// <summary>Largest accepted proof (an RSA-4096 <c>jwk</c> proof is under 2 KiB).</summary>
    public const int MaxProofLength = 8 * 1024;

    /// <summary>Longest accepted <c>jti</c> (it is held in the replay cache).</summary>
    public const int MaxJtiLength = 256;

    /// <summary>Runs every stateless check on <paramref name="proofHeader"/> (the raw <c>DPoP</c> header value).</summary>
    public static DpopProofResult Validate(string? proofHeader, in DpopExpectations expected, DpopSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (proofHeader is null)
        {
            return DpopProofResult.Failure(ReasonCodes.DpopProofMissing);
        }

        // Step 1: several DPoP fields arrive comma-joined; a compact JWS has no comma, so a comma means more than one.
        var proof = proofHeader.AsSpan().Trim(' ');
        if (proof.Contains(','))
        {
            return DpopProofResult.Invalid("multiple");
        }

        if (proof.IsEmpty)
        {
            return DpopProofResult.Failure(ReasonCodes.DpopProofMissing);
        }

        if (proof.Length > MaxProofLength)
        {
            return DpopProofResult.Invalid("too_large");
        }

        // Step 2: a well-formed JWS in compact serialization (canonical base64url, strict JSON, no duplicate names).
        var firstDot = proof.IndexOf('.');
        var secondDot = firstDot < 0 ? -1 : proof[(firstDot + 1)..].IndexOf('.') + firstDot + 1;
        if (firstDot <= 0 || secondDot <= firstDot || proof[(secondDot + 1)..].Contains('.'))
        {
            return DpopProofResult.Invalid("malformed");
        }

        var headerBytes = Base64UrlStrict.Decode(proof[..firstDot]);
        var payloadBytes = Base64UrlStrict.Decode(proof[(firstDot + 1)..secondDot]);
        var signature = Base64UrlStrict.Decode(proof[(secondDot + 1)..]);
        if (headerBytes is null || payloadBytes is null || signature is null || signature.Length == 0)
        {
            return DpopProofResult.Invalid("malformed");
        }

        if (StrictJson.TryParseObject(headerBytes, 8, out var header, out _) != StrictJson.Error.None
            || StrictJson.TryParseObject(payloadBytes, 8, out var claims, out _) != StrictJson.Error.None)
        {
            return DpopProofResult.Invalid("malformed");
        }

        // Step 4: explicit typing (RFC 8725 §3.11), compared case-insensitively as media types are.
        if (!TryString(header, "typ", out var typ) || !string.Equals(typ, "dpop+jwt", StringComparison.OrdinalIgnoreCase))
        {
            return DpopProofResult.Invalid("typ");
        }

        // Step 5: an asymmetric algorithm from the allow-list; never none, never HMAC (RFC 9449 §4.2).
        if (!TryString(header, "alg", out var alg) || !DpopAlgorithms.IsSupported(alg) || !settings.Algorithms.Contains(alg))
        {
            return DpopProofResult.Invalid("alg");
        }

        // RFC 7515 §4.1.11: Gatehouse implements no JWS extension.
        if (header.TryGetProperty("crit", out _))
        {
            return DpopProofResult.Invalid("crit");
        }

        // Step 3: every required claim, with its type.
        if (!TryString(claims, "jti", out var jti) || jti.Length is 0 or > MaxJtiLength)
        {
            return DpopProofResult.Invalid("jti");
        }

        if (!TryString(claims, "htm", out var htm))
        {
            return DpopProofResult.Invalid("htm");
        }

        if (!TryString(claims, "htu", out var htu))
        {
            return DpopProofResult.Invalid("htu");
        }

        if (!claims.TryGetProperty("iat", out var iatElement) || iatElement.ValueKind != JsonValueKind.Number
            || !iatElement.TryGetDouble(out var iat) || !double.IsFinite(iat))
        {
            return DpopProofResult.Invalid("iat");
        }

        string? nonce = null;
        if (claims.TryGetProperty("nonce", out var nonceElement))
        {
            if (nonceElement.ValueKind != JsonValueKind.String)
            {
                return DpopProofResult.Invalid("nonce");
            }

            nonce = nonceElement.GetString();
        }

        // Step 8: the method, compared case-sensitively (RFC 9110 §9.1).
        if (!string.Equals(htm, expected.Method, StringComparison.Ordinal))
        {
            return DpopProofResult.Invalid("htm");
        }

        // Step 9: the URI without query and fragment, normalized (see DpopHtu).
        if (!HtuMatches(htu, expected, settings))
        {
            return DpopProofResult.Invalid("htu");
        }

        // Step 11: created within the acceptable window: not older than max_age, not later than clock_skew ahead.
        var issued = FromNumericDate(iat);
        var skew = settings.Config.ClockSkew;
        if (issued > expected.Now + skew || issued < expected.Now - settings.Config.MaxAge - skew)
        {
            return DpopProofResult.Invalid("iat");
        }

        // Step 12 (RFC 9449 §4.2 / §7.1): ath = base64url(SHA-256(ASCII(access token))).
        if (!TryString(claims, "ath", out var ath) || !AthMatches(ath, expected.AccessToken))
        {
            return DpopProofResult.Invalid("ath");
        }

        // Steps 6 and 7: the jwk is a public key fitting alg, and the signature verifies with it.
        if (!header.TryGetProperty("jwk", out var jwkElement))
        {
            return DpopProofResult.Invalid("jwk");
        }

        var jwk = DpopJwk.TryImport(jwkElement, alg, out var problem);
        if (jwk is null)
        {
            return DpopProofResult.Invalid(problem);
        }

        // Step 12 / RFC 9449 §7.1: the proof key must be the key the token is bound to (cnf.jkt).
        if (expected.TokenThumbprint is null || !FixedTimeEquals(jwk.Thumbprint, expected.TokenThumbprint))
        {
            return DpopProofResult.Failure(ReasonCodes.DpopBindingMismatch);
        }

        var input = Encoding.ASCII.GetBytes(proofHeader.Trim(' '), 0, secondDot);
        if (!jwk.Verify(alg, input, signature))
        {
            return DpopProofResult.Invalid("signature");
        }

        return DpopProofResult.Success(jwk.Thumbprint, jti, iat, nonce);
    }

    private static bool HtuMatches(string htu, in DpopExpectations expected, DpopSettings settings)
    {
        if (!DpopHtu.TryParse(htu, out var target, out _))
        {
            return false;
        }

        var originOk = target.Origin == expected.RequestOrigin;
        for (var i = 0; !originOk && i < settings.Origins.Count; i++)
        {
            originOk = target.Origin == settings.Origins[i];
        }

        if (!originOk)
        {
            return false;
        }

        // The same normalization as route matching and policy (design.md, security invariants).
        var path = PathNormalizer.Normalize(target.RawPath, expected.Paths);
        return path.Ok && string.Equals(path.Path, expected.NormalizedPath, StringComparison.Ordinal);
    }

    private static bool AthMatches(string ath, string accessToken)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.ASCII.GetBytes(accessToken), hash);
        Span<byte> actual = stackalloc byte[32];
        return ath.Length == 43 && Base64UrlStrict.TryDecode(ath, actual, out var n) && n == 32
            && CryptographicOperations.FixedTimeEquals(hash, actual);
    }

    private static bool FixedTimeEquals(string a, string b) =>
        a.Length == b.Length && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    private static bool TryString(JsonElement element, string name, out string value)
    {
        value = "";
        if (!element.TryGetProperty(name, out var member) || member.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = member.GetString()!;
        return true;
    }

    /// <summary>A NumericDate (RFC 7519 §2) as an instant, clamped instead of throwing (an absurd iat fails the window).</summary>
    internal static DateTimeOffset FromNumericDate(double seconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Clamp(seconds * 1000, -62_135_596_800_000d, 253_402_300_799_000d));

    /// <summary>base64url(SHA-256(ASCII(token))): the <c>ath</c> of RFC 9449 §4.2, for clients and tests.</summary>
    public static string AccessTokenHash(string accessToken)
    {
        ArgumentNullException.ThrowIfNull(accessToken);
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
    }
}
