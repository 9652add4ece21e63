using System.Buffers;
using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Model;

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

    /// <summary>The decoded payload (strictly valid JSON once <see cref="Ok"/>); the claims document is built from it only for a token that passed every check.</summary>
    public byte[]? PayloadBytes { get; set; }
    public string? Iss { get; set; }
    public string? Jti { get; set; }
    public string? ClientId { get; set; }
    public double? Exp { get; set; }
    public double? Nbf { get; set; }
    public double? Iat { get; set; }
    public JwtAudience Aud { get; set; }
    public string? CnfX5tS256 { get; set; }

    public ParsedJwt Fail(string reason, string detail)
    {
        Reason = reason;
        Detail = detail;
        return this;
    }
}

/// <summary><c>aud</c> (RFC 7519 §4.1.3): absent, one StringOrURI, or an array of them.</summary>
internal readonly struct JwtAudience(string? single, string[]? values)
{
    /// <summary>True when the claim is present (as a string or an array, possibly empty).</summary>
    public bool IsPresent => Single is not null || Values is not null;

    public string? Single { get; } = single;

    public string[]? Values { get; } = values;
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

    // Headers up to this size decode on the stack; larger ones (x5c chains) come from the pool.
    private const int HeaderStackLimit = 1024;

    public static ParsedJwt Parse(string token, int firstDot, int secondDot) => Parse(token, firstDot, secondDot, singlePass: true);

    /// <summary>
    /// <paramref name="singlePass"/> false skips the single-pass readers: only the two-pass reference parse runs
    /// (tests check that both give the same result for every input).
    /// </summary>
    internal static ParsedJwt Parse(string token, int firstDot, int secondDot, bool singlePass)
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

        // Note: the header is only read here, so it decodes into a scratch buffer; the payload is kept (the claims
        // of a token that passes every check are built from it) and the signature is kept for the verify.
        var headerLength = Base64UrlStrict.DecodedLength(headerPart.Length);
        byte[]? rented = null;
        var headerBytes = headerLength <= HeaderStackLimit
            ? stackalloc byte[HeaderStackLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(headerLength));
        try
        {
            headerBytes = headerBytes[..headerLength];
            var headerOk = Base64UrlStrict.TryDecode(headerPart, headerBytes, out var headerWritten) && headerWritten == headerLength;
            var payloadBytes = Base64UrlStrict.Decode(payloadPart);
            jwt.Signature = Base64UrlStrict.Decode(signaturePart);
            if (!headerOk || payloadBytes is null || jwt.Signature is null)
            {
                return jwt.Fail(ReasonCodes.TokenNotCanonical, "a segment is not valid base64url");
            }

            // The single-pass reader handles well-formed segments; anything it does not accept (a structural or
            // semantic error, escaped member names, very many members) goes through the original two-pass parse,
            // which is the reference for every reason code and detail text.
            if (!(singlePass && TryReadHeader(jwt, headerBytes)) && !ParseHeader(jwt, headerBytes))
            {
                return jwt;
            }

            jwt.PayloadBytes = payloadBytes;
            if (!(singlePass && TryReadPayload(jwt, payloadBytes)))
            {
                ParsePayload(jwt, payloadBytes);
            }

            return jwt;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The claims of a token that passed every check, as an independent element (for the principal, policies that
    /// read <c>claims.*</c>, and claim headers). The payload was validated strictly by <see cref="Parse(string, int, int)"/>.
    /// </summary>
    public static JsonElement ReadClaims(byte[] payloadBytes)
    {
        var reader = new Utf8JsonReader(payloadBytes, StrictJson.ReaderOptions(StrictJson.DefaultMaxDepth));
        return JsonElement.ParseValue(ref reader);
    }

    private enum HeaderMember
    {
        Other,
        Alg,
        Kid,
        Typ,
        Cty,
    }

    /// <summary>
    /// One pass over a JOSE header that is strict JSON (<see cref="StrictJson"/>'s rules) and acceptable; false
    /// (with <paramref name="jwt"/> untouched except for fields the full parse sets again) for anything else.
    /// </summary>
    private static bool TryReadHeader(ParsedJwt jwt, ReadOnlySpan<byte> utf8)
    {
        string? alg = null, kid = null, typ = null;
        var reader = new Utf8JsonReader(utf8, StrictJson.ReaderOptions(8));
        Span<int> names = stackalloc int[StrictJson.NameTracker.IntsFor(8)];
        var member = HeaderMember.Other;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            StrictJson.NameTracker.EnterObject(names, 0);
            while (reader.Read())
            {
                var top = reader.CurrentDepth == 1;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (!StrictJson.NameTracker.Add(names, ref reader, utf8))
                        {
                            return false;
                        }

                        if (top)
                        {
                            member = reader.ValueTextEquals("alg"u8) ? HeaderMember.Alg
                                : reader.ValueTextEquals("kid"u8) ? HeaderMember.Kid
                                : reader.ValueTextEquals("typ"u8) ? HeaderMember.Typ
                                : reader.ValueTextEquals("cty"u8) ? HeaderMember.Cty
                                : HeaderMember.Other;

                            // RFC 7515 §4.1.11 (crit) and RFC 7516 (enc) always reject: the full parse says why.
                            if (reader.ValueTextEquals("crit"u8) || reader.ValueTextEquals("enc"u8))
                            {
                                return false;
                            }
                        }

                        break;
                    case JsonTokenType.StartObject:
                        StrictJson.NameTracker.EnterObject(names, reader.CurrentDepth);
                        if (top && member is not (HeaderMember.Other or HeaderMember.Cty))
                        {
                            return false;
                        }

                        break;
                    case JsonTokenType.String:
                        if (!StrictJson.IsValidString(ref reader))
                        {
                            return false;
                        }

                        if (top)
                        {
                            switch (member)
                            {
                                case HeaderMember.Alg:
                                    alg = JwtAlgorithms.Known(reader.ValueIsEscaped ? [] : reader.ValueSpan) ?? reader.GetString();
                                    break;
                                case HeaderMember.Kid:
                                    kid = reader.GetString();
                                    break;
                                case HeaderMember.Typ:
                                    typ = reader.GetString();
                                    break;
                                case HeaderMember.Cty when string.Equals(reader.GetString(), "JWT", StringComparison.OrdinalIgnoreCase):
                                    return false;
                            }
                        }

                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.Comment:
                        break;
                    default:
                        // A number, literal or array as alg, kid or typ is an error the full parse reports.
                        if (top && member is HeaderMember.Alg or HeaderMember.Kid or HeaderMember.Typ)
                        {
                            return false;
                        }

                        break;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        // RFC 7515 §4.1.1 (alg required) and RFC 8725 §3.2 (never none): the full parse words the rejection.
        if (alg is null || string.Equals(alg, "none", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        jwt.Alg = alg;
        jwt.Kid = kid;
        jwt.Typ = typ;
        return true;
    }

    private enum PayloadMember
    {
        Other,
        Iss,
        Jti,
        ClientId,
        Exp,
        Nbf,
        Iat,
        Aud,
        Cnf,
    }

    /// <summary>
    /// One pass over claims that are strict JSON and well-typed, reading only the registered claims validation
    /// needs (no document); false for anything else, which the full parse then reports.
    /// </summary>
    private static bool TryReadPayload(ParsedJwt jwt, ReadOnlySpan<byte> utf8)
    {
        string? iss = null, jti = null, clientId = null, x5t = null, audOne = null;
        List<string>? audMany = null;
        var audArray = false;
        double? exp = null, nbf = null, iat = null;
        var reader = new Utf8JsonReader(utf8, StrictJson.ReaderOptions(StrictJson.DefaultMaxDepth));
        Span<int> names = stackalloc int[StrictJson.NameTracker.IntsFor(StrictJson.DefaultMaxDepth)];
        var member = PayloadMember.Other;
        var cnfX5t = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            StrictJson.NameTracker.EnterObject(names, 0);
            while (reader.Read())
            {
                var depth = reader.CurrentDepth;
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (!StrictJson.NameTracker.Add(names, ref reader, utf8))
                        {
                            return false;
                        }

                        if (depth == 1)
                        {
                            member = ClassifyClaim(ref reader);
                        }
                        else if (depth == 2 && member == PayloadMember.Cnf)
                        {
                            cnfX5t = reader.ValueTextEquals("x5t#S256"u8);
                        }

                        break;
                    case JsonTokenType.StartObject:
                        StrictJson.NameTracker.EnterObject(names, depth);
                        if (depth == 1 && member is PayloadMember.Iss or PayloadMember.Jti or PayloadMember.Exp or PayloadMember.Nbf or PayloadMember.Iat or PayloadMember.Aud)
                        {
                            return false;
                        }

                        if (depth == 2 && member == PayloadMember.Aud)
                        {
                            return false;
                        }

                        break;
                    case JsonTokenType.StartArray:
                        if (depth == 1)
                        {
                            if (member is PayloadMember.Iss or PayloadMember.Jti or PayloadMember.Exp or PayloadMember.Nbf or PayloadMember.Iat)
                            {
                                return false;
                            }

                            audArray |= member == PayloadMember.Aud;
                        }
                        else if (depth == 2 && member == PayloadMember.Aud)
                        {
                            return false;
                        }

                        break;
                    case JsonTokenType.String:
                        if (!StrictJson.IsValidString(ref reader))
                        {
                            return false;
                        }

                        if (depth == 1)
                        {
                            switch (member)
                            {
                                case PayloadMember.Iss:
                                    iss = reader.GetString();
                                    break;
                                case PayloadMember.Jti:
                                    jti = reader.GetString();
                                    break;
                                case PayloadMember.ClientId:
                                    clientId = reader.GetString();
                                    break;
                                case PayloadMember.Aud:
                                    audOne = reader.GetString();
                                    break;
                                case PayloadMember.Exp or PayloadMember.Nbf or PayloadMember.Iat:
                                    return false;
                            }
                        }
                        else if (depth == 2 && member == PayloadMember.Aud)
                        {
                            (audMany ??= []).Add(reader.GetString()!);
                        }
                        else if (depth == 2 && member == PayloadMember.Cnf && cnfX5t)
                        {
                            x5t = reader.GetString();
                        }

                        break;
                    case JsonTokenType.Number:
                        if (depth == 1)
                        {
                            switch (member)
                            {
                                case PayloadMember.Exp or PayloadMember.Nbf or PayloadMember.Iat:
                                    // RFC 7519 §2: NumericDate is a JSON number of seconds, possibly non-integer.
                                    if (!reader.TryGetDouble(out var date) || !double.IsFinite(date))
                                    {
                                        return false;
                                    }

                                    _ = member == PayloadMember.Exp ? exp = date : member == PayloadMember.Nbf ? nbf = date : iat = date;
                                    break;
                                case PayloadMember.Iss or PayloadMember.Jti or PayloadMember.Aud:
                                    return false;
                            }
                        }
                        else if (depth == 2 && member == PayloadMember.Aud)
                        {
                            return false;
                        }

                        break;
                    case JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null:
                        if ((depth == 1 && member is PayloadMember.Iss or PayloadMember.Jti or PayloadMember.Exp or PayloadMember.Nbf or PayloadMember.Iat or PayloadMember.Aud)
                            || (depth == 2 && member == PayloadMember.Aud))
                        {
                            return false;
                        }

                        break;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        jwt.Iss = iss;
        jwt.Jti = jti;
        jwt.ClientId = clientId;
        jwt.Exp = exp;
        jwt.Nbf = nbf;
        jwt.Iat = iat;
        jwt.Aud = audArray ? new JwtAudience(null, audMany?.ToArray() ?? []) : new JwtAudience(audOne, null);
        jwt.CnfX5tS256 = x5t;
        return true;
    }

    private static PayloadMember ClassifyClaim(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("iss"u8) ? PayloadMember.Iss
        : reader.ValueTextEquals("exp"u8) ? PayloadMember.Exp
        : reader.ValueTextEquals("aud"u8) ? PayloadMember.Aud
        : reader.ValueTextEquals("jti"u8) ? PayloadMember.Jti
        : reader.ValueTextEquals("nbf"u8) ? PayloadMember.Nbf
        : reader.ValueTextEquals("iat"u8) ? PayloadMember.Iat
        : reader.ValueTextEquals("client_id"u8) ? PayloadMember.ClientId
        : reader.ValueTextEquals("cnf"u8) ? PayloadMember.Cnf
        : PayloadMember.Other;

    private static bool ParseHeader(ParsedJwt jwt, ReadOnlySpan<byte> headerBytes)
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
                        jwt.Fail(ReasonCodes.TokenNested, "nested JWTs (cty: JWT, RFC 7519 §5.2) are not accepted");
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

                    jwt.Aud = v.ValueKind == JsonValueKind.String
                        ? new JwtAudience(v.GetString(), null)
                        : new JwtAudience(null, [.. v.EnumerateArray().Select(static a => a.GetString()!)]);
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
