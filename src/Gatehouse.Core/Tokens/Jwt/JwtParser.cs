using System.Text.Json;
using Gatehouse.Decisions;

namespace Gatehouse.Tokens.Jwt;

/// <summary>A JWS in compact serialization after the strict pre-parse; nothing in it is trusted yet.</summary>
internal sealed class ParsedJwt
{
    public string? Reason { get; set; }
    public string? Detail { get; set; }
    public bool Ok => Reason is null;

    public int FirstDot { get; init; }
    public int SecondDot { get; init; }
    public string? Alg { get; set; }
    public string? Kid { get; set; }
    public string? Typ { get; set; }
    public byte[]? Signature { get; set; }

    public JsonElement Payload { get; set; }
    public string? Iss { get; set; }
    public string? Jti { get; set; }
    public string? ClientId { get; set; }
    public double? Exp { get; set; }
    public double? Nbf { get; set; }
    public double? Iat { get; set; }
    public JsonElement Aud { get; set; }
    public string? CnfX5tS256 { get; set; }

    public ParsedJwt Fail(string reason, string detail)
    {
        Reason = reason;
        Detail = detail;
        return this;
    }
}

/// <summary>
/// The strict pre-parse of a JWS compact serialization (RFC 7515 §7.1) before any signature work, following the
/// RFC 8725 best current practices: canonical base64url, strict JSON without duplicate names, <c>crit</c> honoured,
/// <c>none</c> refused, nested JWTs refused. <c>jku</c>, <c>x5u</c>, <c>jwk</c> and <c>x5c</c> are read past and
/// never used to find a key (RFC 8725 §3.10).
/// </summary>
internal static class JwtParser
{
    /// <summary>Number of '.' separators: 2 for a JWS, 4 for a JWE (RFC 7516 §7.1).</summary>
    public static int CountDots(ReadOnlySpan<char> token, out int first, out int second)
    {
        first = token.IndexOf('.');
        second = -1;
        if (first < 0)
        {
            return 0;
        }

        var rest = token[(first + 1)..].IndexOf('.');
        if (rest < 0)
        {
            return 1;
        }

        second = first + 1 + rest;
        return 2 + token[(second + 1)..].Count('.');
    }

    /// <summary>
    /// True when the first segment decodes to a JSON object: the token is JWT-shaped and must be validated as one;
    /// otherwise it is opaque and goes to introspection.
    /// </summary>
    public static bool HeaderLooksLikeJson(ReadOnlySpan<char> firstSegment)
    {
        // "eyJ" is base64url of "{\"" — every JOSE header starts with it in practice; accept leading whitespace too.
        if (firstSegment.StartsWith("eyJ", StringComparison.Ordinal) || firstSegment.StartsWith("ew", StringComparison.Ordinal))
        {
            return true;
        }

        Span<byte> head = stackalloc byte[3];
        return firstSegment.Length >= 4 && Base64UrlStrict.TryDecode(firstSegment[..4], head, out _) && head[0] is (byte)'{' or (byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t';
    }

    public static ParsedJwt Parse(string token, int firstDot, int secondDot)
    {
        var jwt = new ParsedJwt { FirstDot = firstDot, SecondDot = secondDot };
        var span = token.AsSpan();
        var headerPart = span[..firstDot];
        var payloadPart = span[(firstDot + 1)..secondDot];
        var signaturePart = span[(secondDot + 1)..];

        if (headerPart.IsEmpty || payloadPart.IsEmpty)
        {
            return jwt.Fail(ReasonCodes.TokenMalformed, "empty JWS header or payload segment");
        }

        if (signaturePart.IsEmpty)
        {
            // RFC 7519 §6: an Unsecured JWT has an empty signature; RFC 8725 §3.2: never accept it.
            return jwt.Fail(ReasonCodes.TokenSignatureInvalid, "the token carries no signature");
        }

        if (!Base64UrlStrict.IsCanonical(headerPart) || !Base64UrlStrict.IsCanonical(payloadPart) || !Base64UrlStrict.IsCanonical(signaturePart))
        {
            return jwt.Fail(ReasonCodes.TokenNotCanonical, "a segment is not canonical unpadded base64url (RFC 7515 §2)");
        }

        var headerBytes = Base64UrlStrict.Decode(headerPart);
        var payloadBytes = Base64UrlStrict.Decode(payloadPart);
        jwt.Signature = Base64UrlStrict.Decode(signaturePart);
        if (headerBytes is null || payloadBytes is null || jwt.Signature is null)
        {
            return jwt.Fail(ReasonCodes.TokenNotCanonical, "a segment is not valid base64url");
        }

        if (!ParseHeader(jwt, headerBytes))
        {
            return jwt;
        }

        ParsePayload(jwt, payloadBytes);
        return jwt;
    }

    private static bool ParseHeader(ParsedJwt jwt, byte[] headerBytes)
    {
        var error = StrictJson.TryParseObject(headerBytes, 8, out var header, out var detail);
        if (error != StrictJson.Error.None)
        {
            jwt.Fail(error == StrictJson.Error.DuplicateMember ? ReasonCodes.TokenDuplicateClaim : ReasonCodes.TokenMalformed,
                $"JOSE header: {detail ?? "not a JSON object"}");
            return false;
        }

        foreach (var member in header.EnumerateObject())
        {
            switch (member.Name)
            {
                case "alg":
                    jwt.Alg = member.Value.ValueKind == JsonValueKind.String ? member.Value.GetString() : null;
                    if (jwt.Alg is null)
                    {
                        jwt.Fail(ReasonCodes.TokenMalformed, "JOSE header: alg is not a string");
                        return false;
                    }

                    break;
                case "kid":
                    if (member.Value.ValueKind != JsonValueKind.String)
                    {
                        jwt.Fail(ReasonCodes.TokenMalformed, "JOSE header: kid is not a string");
                        return false;
                    }

                    jwt.Kid = member.Value.GetString();
                    break;
                case "typ":
                    if (member.Value.ValueKind != JsonValueKind.String)
                    {
                        jwt.Fail(ReasonCodes.TokenMalformed, "JOSE header: typ is not a string");
                        return false;
                    }

                    jwt.Typ = member.Value.GetString();
                    break;
                case "cty":
                    // RFC 7519 §5.2 / §7.2 step 8: cty "JWT" means a nested JWT; Gatehouse never unwraps one.
                    if (member.Value.ValueKind == JsonValueKind.String && string.Equals(member.Value.GetString(), "JWT", StringComparison.OrdinalIgnoreCase))
                    {
                        jwt.Fail(TokenReasonCodes.TokenNested, "nested JWTs (cty: JWT, RFC 7519 §5.2) are not accepted");
                        return false;
                    }

                    break;
                case "crit":
                    // RFC 7515 §4.1.11: a recipient that does not understand a listed extension must reject.
                    // Gatehouse implements no JWS extension, so any crit (even a malformed one) is a rejection.
                    jwt.Fail(ReasonCodes.TokenCriticalHeaderUnsupported, "JOSE header lists critical extensions Gatehouse does not implement (RFC 7515 §4.1.11)");
                    return false;
                case "enc":
                    jwt.Fail(ReasonCodes.TokenEncrypted, "JWE tokens (enc header, RFC 7516) are not accepted");
                    return false;
            }
        }

        if (jwt.Alg is null)
        {
            jwt.Fail(ReasonCodes.TokenMalformed, "JOSE header: alg is missing (RFC 7515 §4.1.1)");
            return false;
        }

        if (string.Equals(jwt.Alg, "none", StringComparison.OrdinalIgnoreCase))
        {
            jwt.Fail(ReasonCodes.TokenAlgorithmNotAllowed, "alg none is never accepted (RFC 8725 §3.2)");
            return false;
        }

        return true;
    }

    private static void ParsePayload(ParsedJwt jwt, byte[] payloadBytes)
    {
        var error = StrictJson.TryParseObject(payloadBytes, StrictJson.DefaultMaxDepth, out var payload, out var detail);
        if (error != StrictJson.Error.None)
        {
            jwt.Fail(error == StrictJson.Error.DuplicateMember ? ReasonCodes.TokenDuplicateClaim : ReasonCodes.TokenMalformed,
                $"claims: {detail ?? "not a JSON object"}");
            return;
        }

        jwt.Payload = payload;
        foreach (var member in payload.EnumerateObject())
        {
            var v = member.Value;
            switch (member.Name)
            {
                case "iss":
                    if (!TryString(jwt, v, "iss", out var iss))
                    {
                        return;
                    }

                    jwt.Iss = iss;
                    break;
                case "jti":
                    if (!TryString(jwt, v, "jti", out var jti))
                    {
                        return;
                    }

                    jwt.Jti = jti;
                    break;
                case "client_id":
                    jwt.ClientId = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                    break;
                case "exp":
                    if (!TryNumericDate(jwt, v, "exp", out var exp))
                    {
                        return;
                    }

                    jwt.Exp = exp;
                    break;
                case "nbf":
                    if (!TryNumericDate(jwt, v, "nbf", out var nbf))
                    {
                        return;
                    }

                    jwt.Nbf = nbf;
                    break;
                case "iat":
                    if (!TryNumericDate(jwt, v, "iat", out var iat))
                    {
                        return;
                    }

                    jwt.Iat = iat;
                    break;
                case "aud":
                    // RFC 7519 §4.1.3: a StringOrURI or an array of them.
                    if (v.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var a in v.EnumerateArray())
                        {
                            if (a.ValueKind != JsonValueKind.String)
                            {
                                jwt.Fail(ReasonCodes.TokenMalformed, "claims: aud array holds a non-string");
                                return;
                            }
                        }
                    }
                    else if (v.ValueKind != JsonValueKind.String)
                    {
                        jwt.Fail(ReasonCodes.TokenMalformed, "claims: aud is neither a string nor an array");
                        return;
                    }

                    jwt.Aud = v;
                    break;
                case "cnf":
                    // RFC 8705 §3.1: confirmation by certificate thumbprint.
                    if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("x5t#S256", out var x5t) && x5t.ValueKind == JsonValueKind.String)
                    {
                        jwt.CnfX5tS256 = x5t.GetString();
                    }

                    break;
            }
        }
    }

    private static bool TryString(ParsedJwt jwt, JsonElement v, string name, out string? value)
    {
        value = null;
        if (v.ValueKind != JsonValueKind.String)
        {
            jwt.Fail(ReasonCodes.TokenMalformed, $"claims: {name} is not a string");
            return false;
        }

        value = v.GetString();
        return true;
    }

    // RFC 7519 §2: NumericDate is a JSON number of seconds, possibly non-integer.
    private static bool TryNumericDate(ParsedJwt jwt, JsonElement v, string name, out double value)
    {
        value = 0;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out value) || double.IsNaN(value) || double.IsInfinity(value))
        {
            jwt.Fail(ReasonCodes.TokenMalformed, $"claims: {name} is not a NumericDate (RFC 7519 §2)");
            return false;
        }

        return true;
    }
}
