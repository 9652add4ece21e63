using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The example JWS of RFC 7515 Appendix A.2 (RS256) and A.3 (ES256), verified with the RFC's own public JWKs.
/// The examples carry iss "joe", exp 1300819380 and no aud: at a time before exp they get past the signature and
/// lifetime checks and stop at the audience check, which proves the signature verified.
/// </summary>
public sealed class Rfc7515ExampleTests
{
    private const string Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

    // RFC 7515 A.2.1
    private const string A2Token = "eyJhbGciOiJSUzI1NiJ9." + Payload + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

    private const string A2Jwk = """{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}""";

    // RFC 7515 A.3.1
    private const string A3Token = "eyJhbGciOiJFUzI1NiJ9." + Payload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    private const string A3Jwk = """{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}""";

    public sealed record RfcCase(string Name, string Token, string Jwk, long Now, string Reason)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<RfcCase> Cases() =>
    [
        new("A2_RS256_VerifiesThenAudience", A2Token, A2Jwk, 1300819000, ReasonCodes.TokenAudienceMismatch),
        new("A2_RS256_AfterExp_Expired", A2Token, A2Jwk, 1300819380 + 31, ReasonCodes.TokenExpired),
        new("A2_RS256_LastCharChanged_NotCanonical", A2Token[..^1] + "x", A2Jwk, 1300819000, ReasonCodes.TokenNotCanonical),
        new("A2_RS256_SignatureFlipped", A2Token.Replace(".cC4h", ".cC4i", StringComparison.Ordinal), A2Jwk, 1300819000, ReasonCodes.TokenSignatureInvalid),
        new("A3_ES256_VerifiesThenAudience", A3Token, A3Jwk, 1300819000, ReasonCodes.TokenAudienceMismatch),
        new("A3_ES256_AfterExp_Expired", A3Token, A3Jwk, 1300819380 + 31, ReasonCodes.TokenExpired),
        new("A3_ES256_LastCharChanged_NotCanonical", A3Token[..^1] + "R", A3Jwk, 1300819000, ReasonCodes.TokenNotCanonical),
        new("A3_ES256_LastCharChanged_Canonical", A3Token[..^1] + "A", A3Jwk, 1300819000, ReasonCodes.TokenSignatureInvalid),
        new("A3_ES256_WithRsaKey_NoFittingKey", A3Token, A2Jwk, 1300819000, ReasonCodes.TokenKeyUnknown),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AuthenticateAsync_RfcExample(RfcCase @case)
    {
        var dir = Directory.CreateTempSubdirectory("gh-rfc-");
        var file = Path.Combine(dir.FullName, "jwks.json");
        await File.WriteAllTextAsync(file, "{\"keys\":[" + @case.Jwk + "]}");
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(@case.Now));
        using var http = new HttpClient();
        await using var issuer = new IssuerRuntime(
            new IssuerConfig { Name = "rfc", Issuer = "joe", JwksFile = file, Audiences = ["api"], Algorithms = ["RS256", "ES256"] },
            http, time, NullLoggerFactory.Instance);
        await issuer.StartAsync(CancellationToken.None);
        var authenticator = new TokenAuthenticator(time, NullLoggerFactory.Instance);

        var result = await authenticator.AuthenticateAsync(@case.Token, [issuer], CancellationToken.None);

        Assert.Equal(@case.Reason, result.Reason);
        dir.Delete(true);
    }
}
