using System.Text;
using Gatehouse.Audit;

namespace Gatehouse.Tests.Audit;

/// <summary>
/// <c>audit.include_query: true</c>: a JWT hidden in a query value never reaches the audit record — behind a prefix,
/// inside an encoded URL, with encoded dots, encoded several times — and ordinary values stay readable.
/// </summary>
public sealed class QueryRedactorTests
{
    private const string Jwt = AuditTestData.Jwt;
    private static readonly string s_payload = Jwt.Split('.')[1];

    // A JOSE header written with whitespace ({ "alg": ... }) does not start with "eyJ".
    private static readonly string s_spacedHeaderJwt =
        Convert.ToBase64String(Encoding.UTF8.GetBytes("{ \"alg\": \"ES256\", \"kid\": \"k\" }")).TrimEnd('=').Replace('+', '-').Replace('/', '_')
        + ".eyJzdWIiOiJib2IifQ.c2ln";

    public static TheoryData<string, string> Redacted => new()
    {
        { "bearer prefix, encoded space", "?q=Bearer%20" + Jwt },
        { "bearer prefix, plus as space", "?q=Bearer+" + Jwt },
        { "inside an encoded redirect URL", "?redirect=https%3A%2F%2Fapp.example%2Fcb%3Fid_token%3D" + Jwt + "%26state%3Dx" },
        { "dots encoded", "?q=" + Jwt.Replace(".", "%2E", StringComparison.Ordinal) },
        { "dots encoded lower-case", "?q=" + Jwt.Replace(".", "%2e", StringComparison.Ordinal) },
        { "dots encoded twice", "?q=" + Jwt.Replace(".", "%252E", StringComparison.Ordinal) },
        { "whole value encoded three times", "?q=" + Encode(Encode(Encode("Bearer " + Jwt))) },
        { "glued to other text", "?q=abc" + Jwt + "xyz" },
        { "JWE (five segments)", "?q=" + Jwt + ".aXY.dGFn" },
        { "header with whitespace", "?q=" + s_spacedHeaderJwt },
        { "a bare parameter", "?" + Jwt },
        { "as a parameter name", "?" + Jwt + "=1" },
    };

    [Theory]
    [MemberData(nameof(Redacted))]
    public void JwtAnywhereInAValue_IsRedacted(string name, string query)
    {
        _ = name;
        var redacted = QueryRedactor.Redact(query)!;

        Assert.Contains(QueryRedactor.Redacted, redacted, StringComparison.Ordinal);
        AssertNoTokenPart(redacted);
    }

    [Fact]
    public void EncodedBeyondTheBound_IsRedacted()
    {
        var deep = "plain";
        for (var i = 0; i < QueryRedactor.MaxDecodingRounds + 2; i++)
        {
            deep = Encode(deep + "%");
        }

        Assert.Equal("?q=REDACTED", QueryRedactor.Redact("?q=" + deep));
    }

    [Theory]
    [InlineData("?page=2&sort=survey.date.asc", "?page=2&sort=survey.date.asc")]
    [InlineData("?next=%2Forders%3Fpage%3D2", "?next=%2Forders%3Fpage%3D2")]
    [InlineData("?q=eyes.on.me", "?q=eyes.on.me")]
    [InlineData("?v=1.2.3&name=caf%C3%A9", "?v=1.2.3&name=caf%C3%A9")]
    [InlineData("?t%256Fken=x", "?t%256Fken=REDACTED")]
    public void OrdinaryValuesStay_AndEncodedNamesAreStillRecognized(string query, string expected)
        => Assert.Equal(expected, QueryRedactor.Redact(query));

    // Property: a JWT placed anywhere in a value, with its dots and surroundings percent-encoded 0 to 3 times, never
    // survives redaction.
    [Fact]
    public void Property_AJwtAnywhere_AnyEncodingDepth_IsAlwaysRedacted()
    {
        var random = new Random(5);
        string[] prefixes = ["", "Bearer ", "x", "https://a.example/cb?id_token=", "{\"t\":\"", "a,b;"];
        for (var i = 0; i < 2000; i++)
        {
            var dots = random.Next(3) switch { 0 => ".", 1 => "%2E", _ => "%2e" };
            var value = prefixes[random.Next(prefixes.Length)] + Jwt.Replace(".", dots, StringComparison.Ordinal) + (random.Next(2) == 0 ? "" : "&tail");
            var depth = random.Next(4);
            for (var d = 0; d < depth; d++)
            {
                value = Encode(value);
            }

            var redacted = QueryRedactor.Redact("?a=1&v=" + value)!;

            Assert.StartsWith("?a=1&v=", redacted, StringComparison.Ordinal);
            AssertNoTokenPart(redacted);
        }
    }

    private static void AssertNoTokenPart(string redacted)
    {
        for (var round = 0; round < 5; round++)
        {
            Assert.DoesNotContain(s_payload, redacted, StringComparison.Ordinal);
            Assert.DoesNotContain("eyJzdWIiOiJib2IifQ", redacted, StringComparison.Ordinal);
            redacted = Uri.UnescapeDataString(redacted);
        }
    }

    private static string Encode(string value) => Uri.EscapeDataString(value);
}
