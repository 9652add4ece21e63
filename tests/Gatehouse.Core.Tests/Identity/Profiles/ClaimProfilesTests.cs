using System.Runtime.CompilerServices;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Identity.Profiles;

namespace Gatehouse.Tests.Identity.Profiles;

public sealed class ClaimProfilesTests
{
    // Fixtures are read next to this source file (no csproj copy rule needed).
    private static JsonElement Fixture(string name, [CallerFilePath] string source = "") =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", name))).RootElement;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void Generic_profile_reads_scope_roles_client_and_actors()
    {
        var principal = ClaimProfiles.CreatePrincipal(Fixture("generic.json"), new IssuerConfig { Name = "corp", Issuer = "https://idp.example.com/" }, "spiffe://cluster.local/ns/shop/sa/web");

        Assert.Equal("spiffe://cluster.local/ns/shop/sa/web", principal.Workload);
        Assert.Equal("https://idp.example.com/", principal.Issuer);
        Assert.Equal("corp", principal.IssuerName);
        Assert.Equal("248289761001", principal.Subject);
        Assert.Equal("s6BhdRkqt3", principal.ClientId);
        Assert.Equal(["openid", "orders.read", "orders.write"], principal.Scopes.Order(StringComparer.Ordinal));
        Assert.Equal(["auditor", "clerk"], principal.Roles.Order(StringComparer.Ordinal));
        Assert.Equal(["spiffe://cluster.local/ns/shop/sa/checkout", "gateway"], principal.Actors);
        Assert.True(principal.HasToken);
    }

    public static TheoryData<string, string, string, string?> ClaimPaths => new()
    {
        { "top-level", """{"a":"x"}""", "a", "\"x\"" },
        { "nested", """{"a":{"b":{"c":1}}}""", "a.b.c", "1" },
        { "key with colon", """{"cognito:groups":["g"]}""", "cognito:groups", "[\"g\"]" },
        { "URL key with dots", """{"https://example.com/roles":["r"]}""", "https://example.com/roles", "[\"r\"]" },
        { "nested key with dots (longest key first)", """{"resource_access":{"my.app":{"roles":["r"]}}}""", "resource_access.my.app.roles", "[\"r\"]" },
        { "longest key preferred", """{"a.b":1,"a":{"b":2}}""", "a.b", "1" },
        { "falls back when the long key leads nowhere", """{"a.b":{"x":1},"a":{"b":{"c":2}}}""", "a.b.c", "2" },
        { "absent", """{"a":{}}""", "a.b", null },
        { "through an array is not supported", """{"a":[{"b":1}]}""", "a.b", null },
    };

    [Theory]
    [MemberData(nameof(ClaimPaths))]
    public void Finds_claims_by_dotted_path(string name, string json, string path, string? expected)
    {
        var found = ClaimProfiles.TryGetClaim(Json(json), path, out var value);
        Assert.True(expected is not null == found, name);
        if (found)
        {
            Assert.Equal(expected, value.GetRawText());
        }
    }

    [Fact]
    public void Role_mappings_add_roles_when_a_claim_contains_a_value()
    {
        var issuer = new IssuerConfig
        {
            Name = "corp",
            RoleMappings =
            [
                new RoleMappingConfig { Claim = "groups", Value = "ops-team", Role = "operator" },
                new RoleMappingConfig { Claim = "department", Value = "finance", Role = "billing-reader" },
                new RoleMappingConfig { Claim = "groups", Value = "nobody", Role = "never" },
            ],
        };
        var principal = ClaimProfiles.CreatePrincipal(Json("""{"sub":"u","groups":["dev","ops-team"],"department":"finance"}"""), issuer, null);
        Assert.Equal(["billing-reader", "operator"], principal.Roles.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Non_object_claims_give_a_principal_without_scopes()
    {
        var principal = ClaimProfiles.CreatePrincipal(Json("[]"), new IssuerConfig { Name = "corp", Issuer = "https://i/" }, null);
        Assert.Empty(principal.Scopes);
        Assert.Equal("https://i/", principal.Issuer);
    }
}
