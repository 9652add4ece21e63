using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Policy;
using Gatehouse.Runtime;

namespace Gatehouse.Tests.Decisions;

/// <summary>Claims to upstream headers: arrays comma-joined, values percent-encoded so a claim can never split a header or the list.</summary>
public sealed class ClaimHeaderTests
{
    private static CompiledRoute Route(params (string Header, string Claim)[] headers) => new()
    {
        Name = "r",
        Config = new RouteConfig { Name = "r" },
        Issuers = [],
        Policies = CompiledPolicySet.Compile([]),
        ClaimHeaders = headers.Select(h => new KeyValuePair<string, string>(h.Header, h.Claim)).ToList(),
        RemoveHeaders = [],
    };

    public static TheoryData<string, string, string?> Cases => new()
    {
        { "string", """{"sub":"alice"}""", "alice" },
        { "array joined with commas", """{"sub":["a","b","c"]}""", "a,b,c" },
        { "numbers and booleans by their JSON text", """{"sub":[1,true]}""", "1,true" },
        { "CRLF percent-encoded (no header injection)", """{"sub":"alice\r\nX-Admin: yes"}""", "alice%0D%0AX-Admin: yes" },
        { "NUL and DEL percent-encoded", """{"sub":"a\u0000b\u007f"}""", "a%00b%7F" },
        { "commas inside a value percent-encoded", """{"sub":["a,b","c"]}""", "a%2Cb,c" },
        { "non-ASCII as UTF-8 percent-encoding", """{"sub":"élise"}""", "%C3%A9lise" },
        { "percent itself encoded, so decoding is exact", """{"sub":"100%"}""", "100%25" },
        { "edge spaces kept (not trimmed as OWS)", """{"sub":" a "}""", "%20a%20" },
        { "objects are not rendered", """{"sub":{"x":1}}""", null },
        { "missing claim sets no header", """{"other":"x"}""", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ClaimHeaderValues_AreSanitized(string name, string claims, string? expected)
    {
        _ = name;
        using var document = JsonDocument.Parse(claims);

        var headers = DecisionEngine.ClaimHeaderValues(Route(("x-sub", "sub")), document.RootElement);

        if (expected is null)
        {
            Assert.Empty(headers);
        }
        else
        {
            var (header, value) = Assert.Single(headers);
            Assert.Equal("x-sub", header);
            Assert.Equal(expected, value);
        }
    }

    [Fact]
    public void NestedClaimPaths_AreRead()
    {
        using var document = JsonDocument.Parse("""{"realm_access":{"roles":["clerk","admin"]}}""");

        var headers = DecisionEngine.ClaimHeaderValues(Route(("x-roles", "realm_access.roles")), document.RootElement);

        Assert.Equal("clerk,admin", Assert.Single(headers).Value);
    }
}
