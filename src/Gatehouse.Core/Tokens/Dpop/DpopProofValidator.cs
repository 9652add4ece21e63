using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
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
    private readonly ReplayHash _replay;

    private DpopProofResult(string? reason, string? thumbprint, in ReplayHash replay, double iat, string? nonce)
    {
        Reason = reason;
        Thumbprint = thumbprint;
        _replay = replay;
        Iat = iat;
        Nonce = nonce;
    }

    /// <summary>True when every stateless check of RFC 9449 §4.3 passed (replay and nonce are checked by the caller).</summary>
    public bool Ok => Reason is null;

    /// <summary>A <c>dpop.*</c> reason code with its detail, on failure.</summary>
    public string? Reason { get; }

    /// <summary>The proof key's RFC 7638 thumbprint.</summary>
    public string? Thumbprint { get; }

    /// <summary>The proof's <c>iat</c> (seconds since the epoch).</summary>
    public double Iat { get; }

    /// <summary>The proof's <c>nonce</c>, when it has one.</summary>
    public string? Nonce { get; }

    /// <summary>
    /// The replay-cache key of a verified proof (RFC 9449 §11.1): <c>dpop:</c> + base64url(SHA-256(jkt ‖ LF ‖ jti)),
    /// so neither the key thumbprint nor the client's <c>jti</c> is stored in the clear, and every key has the same
    /// size whatever the <c>jti</c>. Null on failure.
    /// </summary>
    public string? ReplayKey() => Ok ? string.Create(5 + 43, _replay, static (chars, hash) =>
    {
        "dpop:".CopyTo(chars);
        Base64Url.EncodeToChars(hash, chars[5..]);
    }) : null;

    internal static DpopProofResult Success(string thumbprint, in ReplayHash replay, double iat, string? nonce) => new(null, thumbprint, replay, iat, nonce);

    internal static DpopProofResult Invalid(string detail) => new(ReasonCodes.DpopProofInvalid + ":" + detail, null, default, 0, null);

    internal static DpopProofResult Failure(string reason) => new(reason, null, default, 0, null);
}

/// <summary>SHA-256(jkt ‖ LF ‖ jti): what the replay cache is keyed by, held inline (no array per proof).</summary>
[System.Runtime.CompilerServices.InlineArray(32)]
internal struct ReplayHash
{
    private byte _first;

    /// <summary>Hashes the thumbprint's ASCII, a line feed and the jti's UTF-8 bytes (≤ 256 chars, so ≤ 768 bytes).</summary>
    public static ReplayHash Of(string thumbprint, ReadOnlySpan<byte> jtiUtf8)
    {
        var hash = default(ReplayHash);
        Span<byte> input = stackalloc byte[1024];
        var n = Encoding.UTF8.GetBytes(thumbprint, input);
        input[n++] = (byte)'\n';
        jtiUtf8.CopyTo(input[n..]);
        SHA256.HashData(input[..(n + jtiUtf8.Length)], hash);
        return hash;
    }
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

    private const int StackBytes = 3072;

    /// <summary>Runs every stateless check on <paramref name="proofHeader"/> (the raw <c>DPoP</c> header value).</summary>
    /// <remarks>
    /// Note: allocation-free for a proof whose key was seen before and whose members need no unescaping (what
    /// clients send): the segments are decoded into one stack or pooled buffer, the JSON is read with
    /// <see cref="DpopProofReader"/>, and the thumbprint, <c>ath</c>, <c>htu</c> and signing input are computed in
    /// place; only the signature verify itself allocates (docs/performance.md, "DPoP proof check"). Anything else
    /// takes the document path (<see cref="System.Text.Json.JsonDocument"/>), which gives the same answers.
    /// </remarks>
    public static DpopProofResult Validate(string? proofHeader, in DpopExpectations expected, DpopSettings settings) =>
        Run(proofHeader, expected, settings, documents: false);

    /// <summary>The same checks, always through the document path (tests compare both paths on every case).</summary>
    internal static DpopProofResult ValidateWithDocuments(string? proofHeader, in DpopExpectations expected, DpopSettings settings) =>
        Run(proofHeader, expected, settings, documents: true);

    private static DpopProofResult Run(string? proofHeader, in DpopExpectations expected, DpopSettings settings, bool documents)
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

        var headerText = proof[..firstDot];
        var payloadText = proof[(firstDot + 1)..secondDot];
        var signatureText = proof[(secondDot + 1)..];
        var headerLength = Base64UrlStrict.DecodedLength(headerText.Length);
        var payloadLength = Base64UrlStrict.DecodedLength(payloadText.Length);
        var signatureLength = Base64UrlStrict.DecodedLength(signatureText.Length);
        // One buffer for the three decoded segments, the signing input (the ASCII of header.payload) and room for
        // unescaped member values.
        var size = (2 * (headerLength + payloadLength)) + signatureLength + secondDot;
        byte[]? rented = null;
        var buffer = size <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(size));
        try
        {
            var header = buffer[..headerLength];
            var payload = buffer.Slice(headerLength, payloadLength);
            var signature = buffer.Slice(headerLength + payloadLength, signatureLength);
            if (!Base64UrlStrict.TryDecode(headerText, header, out var h) || h != headerLength
                || !Base64UrlStrict.TryDecode(payloadText, payload, out var p) || p != payloadLength
                || !Base64UrlStrict.TryDecode(signatureText, signature, out var g) || g != signatureLength || signatureLength == 0)
            {
                return DpopProofResult.Invalid("malformed");
            }

            var input = buffer.Slice(headerLength + payloadLength + signatureLength, secondDot);
            Encoding.ASCII.GetBytes(proof[..secondDot], input);
            if (!documents)
            {
                scoped DpopProofFields fields = default;
                var scratch = buffer.Slice(headerLength + payloadLength + signatureLength + secondDot, headerLength + payloadLength);
                switch (DpopProofReader.TryRead(header, payload, scratch, ref fields))
                {
                    case DpopRead.Malformed:
                        return DpopProofResult.Invalid("malformed");
                    case DpopRead.Ok:
                        return Check(ref fields, input, signature, expected, settings);
                }
            }

            return CheckDocuments(header, payload, input, signature, expected, settings);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // The checks on fields read by DpopProofReader, in the order of CheckDocuments (each failure has one reason).
    private static DpopProofResult Check(
        scoped ref DpopProofFields f, scoped ReadOnlySpan<byte> input, scoped ReadOnlySpan<byte> signature, in DpopExpectations expected, DpopSettings settings)
    {
        // Step 4: explicit typing (RFC 8725 §3.11), compared case-insensitively as media types are.
        if (f.TypKind != DpopMember.String || !Ascii.EqualsIgnoreCase(f.Typ, "dpop+jwt"u8))
        {
            return DpopProofResult.Invalid("typ");
        }

        // Step 5: an asymmetric algorithm from the allow-list; never none, never HMAC (RFC 9449 §4.2).
        var alg = f.AlgKind == DpopMember.String ? KnownAlgorithm(f.Alg) : null;
        if (alg is null || !settings.Algorithms.Contains(alg))
        {
            return DpopProofResult.Invalid("alg");
        }

        // RFC 7515 §4.1.11: Gatehouse implements no JWS extension.
        if (f.Crit)
        {
            return DpopProofResult.Invalid("crit");
        }

        // Step 3: every required claim, with its type.
        if (f.JtiKind != DpopMember.String || f.Jti.IsEmpty || Encoding.UTF8.GetCharCount(f.Jti) > MaxJtiLength)
        {
            return DpopProofResult.Invalid("jti");
        }

        if (f.HtmKind != DpopMember.String)
        {
            return DpopProofResult.Invalid("htm");
        }

        if (f.HtuKind != DpopMember.String)
        {
            return DpopProofResult.Invalid("htu");
        }

        if (f.IatKind != DpopMember.Number)
        {
            return DpopProofResult.Invalid("iat");
        }

        if (f.NonceKind == DpopMember.WrongType)
        {
            return DpopProofResult.Invalid("nonce");
        }

        // Step 8: the method, compared case-sensitively (RFC 9110 §9.1).
        if (!Ascii.Equals(f.Htm, expected.Method))
        {
            return DpopProofResult.Invalid("htm");
        }

        // Step 9: the URI without query and fragment, normalized (see DpopHtu).
        if (!HtuMatches(f.Htu, expected, settings))
        {
            return DpopProofResult.Invalid("htu");
        }

        // Step 11: created within the acceptable window.
        if (!IatInWindow(f.Iat, expected, settings))
        {
            return DpopProofResult.Invalid("iat");
        }

        // Step 12 (RFC 9449 §4.2 / §7.1): ath = base64url(SHA-256(ASCII(access token))).
        if (f.AthKind != DpopMember.String || !AthMatches(f.Ath, expected.AccessToken))
        {
            return DpopProofResult.Invalid("ath");
        }

        // Steps 6 and 7: the jwk is a public key fitting alg, and the signature verifies with it.
        if (f.JwkKind == DpopMember.Absent)
        {
            return DpopProofResult.Invalid("jwk");
        }

        var jwk = DpopJwk.TryImport(ref f, alg, out var problem);
        if (jwk is null)
        {
            return DpopProofResult.Invalid(problem);
        }

        // Step 12 / RFC 9449 §7.1: the proof key must be the key the token is bound to (cnf.jkt).
        if (expected.TokenThumbprint is null || !FixedTimeEquals(jwk.Thumbprint, expected.TokenThumbprint))
        {
            return DpopProofResult.Failure(ReasonCodes.DpopBindingMismatch);
        }

        if (!jwk.Verify(alg, input, signature))
        {
            return DpopProofResult.Invalid("signature");
        }

        // Note: a nonce is only turned into a string when the proof carries one (listeners with dpop.nonce).
        var nonce = f.NonceKind == DpopMember.String ? Encoding.UTF8.GetString(f.Nonce) : null;
        return DpopProofResult.Success(jwk.Thumbprint, ReplayHash.Of(jwk.Thumbprint, f.Jti), f.Iat, nonce);
    }

    // The reference path: the documents parsed with StrictJson (escaped names and values, anything the reader
    // leaves to it).
    private static DpopProofResult CheckDocuments(
        ReadOnlySpan<byte> headerBytes, ReadOnlySpan<byte> payloadBytes, ReadOnlySpan<byte> input, ReadOnlySpan<byte> signature, in DpopExpectations expected, DpopSettings settings)
    {
        if (StrictJson.TryParseObject(headerBytes, 8, out var header, out _) != StrictJson.Error.None
            || StrictJson.TryParseObject(payloadBytes, 8, out var claims, out _) != StrictJson.Error.None)
        {
            return DpopProofResult.Invalid("malformed");
        }

        if (!TryString(header, "typ", out var typ) || !string.Equals(typ, "dpop+jwt", StringComparison.OrdinalIgnoreCase))
        {
            return DpopProofResult.Invalid("typ");
        }

        if (!TryString(header, "alg", out var alg) || !DpopAlgorithms.IsSupported(alg) || !settings.Algorithms.Contains(alg))
        {
            return DpopProofResult.Invalid("alg");
        }

        if (header.TryGetProperty("crit", out _))
        {
            return DpopProofResult.Invalid("crit");
        }

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

        if (!string.Equals(htm, expected.Method, StringComparison.Ordinal))
        {
            return DpopProofResult.Invalid("htm");
        }

        if (!HtuMatches(htu, expected, settings))
        {
            return DpopProofResult.Invalid("htu");
        }

        if (!IatInWindow(iat, expected, settings))
        {
            return DpopProofResult.Invalid("iat");
        }

        if (!TryString(claims, "ath", out var ath) || !AthMatches(ath, expected.AccessToken))
        {
            return DpopProofResult.Invalid("ath");
        }

        if (!header.TryGetProperty("jwk", out var jwkElement))
        {
            return DpopProofResult.Invalid("jwk");
        }

        var jwk = DpopJwk.TryImport(jwkElement, alg, out var problem);
        if (jwk is null)
        {
            return DpopProofResult.Invalid(problem);
        }

        if (expected.TokenThumbprint is null || !FixedTimeEquals(jwk.Thumbprint, expected.TokenThumbprint))
        {
            return DpopProofResult.Failure(ReasonCodes.DpopBindingMismatch);
        }

        if (!jwk.Verify(alg, input, signature))
        {
            return DpopProofResult.Invalid("signature");
        }

        return DpopProofResult.Success(jwk.Thumbprint, ReplayHash.Of(jwk.Thumbprint, Encoding.UTF8.GetBytes(jti)), iat, nonce);
    }

    // Step 11: not older than max_age, not later than clock_skew ahead.
    private static bool IatInWindow(double iat, in DpopExpectations expected, DpopSettings settings)
    {
        var issued = FromNumericDate(iat);
        var skew = settings.Config.ClockSkew;
        return issued <= expected.Now + skew && issued >= expected.Now - settings.Config.MaxAge - skew;
    }

    private static string? KnownAlgorithm(ReadOnlySpan<byte> alg)
    {
        // Note: by index: a foreach over the IReadOnlyList would allocate an enumerator per proof.
        var supported = DpopAlgorithms.Supported;
        for (var i = 0; i < supported.Count; i++)
        {
            if (Ascii.Equals(alg, supported[i]))
            {
                return supported[i];
            }
        }

        return null;
    }

    private static bool HtuMatches(ReadOnlySpan<byte> htuUtf8, in DpopExpectations expected, DpopSettings settings)
    {
        // The reader checked the UTF-8; the htu's chars go to a stack (or pooled) buffer, never a string.
        char[]? rented = null;
        var chars = htuUtf8.Length <= 512 ? stackalloc char[512] : (rented = ArrayPool<char>.Shared.Rent(htuUtf8.Length));
        try
        {
            var n = Encoding.UTF8.GetChars(htuUtf8, chars);
            return HtuMatches(chars[..n], expected, settings);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static bool HtuMatches(ReadOnlySpan<char> htu, in DpopExpectations expected, DpopSettings settings)
    {
        if (!DpopHtu.TryParse(htu, out var target, out _))
        {
            return false;
        }

        var originOk = OriginIs(target, expected.RequestOrigin);
        for (var i = 0; !originOk && i < settings.Origins.Count; i++)
        {
            originOk = OriginIs(target, settings.Origins[i]);
        }

        if (!originOk)
        {
            return false;
        }

        // The same normalization as route matching and policy (design.md, security invariants). Note: the
        // normalizer is idempotent, so an htu path that already equals the request's normalized path matches
        // without normalizing it again (the common case, no string); any other spelling is normalized and compared.
        var raw = target.RawPath.IsEmpty ? "/" : target.RawPath;
        if (raw.SequenceEqual(expected.NormalizedPath))
        {
            return true;
        }

        var path = PathNormalizer.Normalize(raw.ToString(), expected.Paths);
        return path.Ok && string.Equals(path.Path, expected.NormalizedPath, StringComparison.Ordinal);
    }

    // RFC 6454 §4 via AuthorizationRequest.NormalizeHost: one trailing dot dropped, ASCII letters lower-cased.
    private static bool OriginIs(in HtuParts target, DpopOrigin origin)
    {
        if (target.Port != origin.Port || !string.Equals(target.Scheme, origin.Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        var host = target.Host.EndsWith('.') ? target.Host[..^1] : target.Host;
        return Ascii.IsValid(host)
            ? Ascii.EqualsIgnoreCase(host, origin.Host) && !HasUpperAscii(origin.Host)
            : string.Equals(AuthorizationRequest.NormalizeHost(target.Host.ToString()), origin.Host, StringComparison.Ordinal);
    }

    // The origin's host is normalized already (lower-case); a caller that passed another spelling gets no match.
    private static bool HasUpperAscii(string host)
    {
        foreach (var c in host)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AthMatches(ReadOnlySpan<byte> ath, string accessToken)
    {
        Span<char> chars = stackalloc char[43];
        return ath.Length == 43 && Encoding.ASCII.GetChars(ath, chars) == 43 && Ascii.IsValid(ath) && AthMatches(chars, accessToken);
    }

    private static bool AthMatches(ReadOnlySpan<char> ath, string accessToken)
    {
        Span<byte> actual = stackalloc byte[32];
        if (ath.Length != 43 || !Base64UrlStrict.TryDecode(ath, actual, out var n) || n != 32)
        {
            return false;
        }

        // SHA-256 over the token's ASCII (RFC 9449 §4.2), encoded into a stack or pooled buffer.
        byte[]? rented = null;
        var ascii = accessToken.Length <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(accessToken.Length));
        try
        {
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(ascii[..Encoding.ASCII.GetBytes(accessToken, ascii)], hash);
            return CryptographicOperations.FixedTimeEquals(hash, actual);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool FixedTimeEquals(string a, string b) =>
        a.Length == b.Length && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(a.AsSpan()), MemoryMarshal.AsBytes(b.AsSpan()));

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
