using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Policy;
using Gatehouse.Runtime;

namespace Gatehouse.Tests.Decisions;

/// <summary>Claims to upstream headers: arrays comma-joined, values sanitized so a claim can never split a header.</summary>
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
        { "CRLF removed (no header injection)", """{"sub":"alice\r\nX-Admin: yes"}""", "aliceX-Admin: yes" },
        { "commas inside a value removed", """{"sub":["a,b","c"]}""", "ab,c" },
        { "non-ASCII replaced", """{"sub":"élise"}""", "?lise" },
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
