using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Identity.Profiles;
using Gatehouse.Tests.Audit;

namespace Gatehouse.Tests.Identity.Profiles;

public sealed class ClaimProfilesTests
{
    // Fixtures are read from the source tree, found from the output directory (no csproj copy rule needed).
    private static JsonElement Fixture(string name) =>
        JsonDocument.Parse(File.ReadAllText(RepoPaths.Of("tests", "Gatehouse.Core.Tests", "Identity", "Profiles", "Fixtures", name))).RootElement;

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
        Assert.Equal(["spiffe://cluster.local/ns/shop/sa/checkout", "gateway"], principal.Actors.Select(a => a.Id));
        Assert.True(principal.HasToken);
    }

    public sealed record ProfileCase(
        string Name, string Fixture, IssuerConfig Issuer, string? Subject, string? ClientId, string[] Scopes, string[] Roles)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ProfileCase> Profiles => new()
    {
        new("okta: scp array, groups, cid", "okta.json", new IssuerConfig { Name = "okta", Profile = "okta" },
            "alice@example.com", "0oa1hx9xwbQvRZV3x5d7", ["openid", "orders.read", "orders.write"], ["Everyone", "Order Clerks"]),
        new("auth0: scope + permissions, roles only via mapping", "auth0.json", new IssuerConfig { Name = "auth0", Profile = "auth0" },
            "auth0|64f1c2e3a4b5c6d7e8f90123", "Xk3Fd9sT2mQpLw8zR1vN6yB0cH4jE7aU", ["email", "openid", "profile", "read:orders", "write:orders"], []),
        new("auth0: namespaced roles claim copied by a '*' mapping", "auth0.json",
            new IssuerConfig { Name = "auth0", Profile = "auth0", RoleMappings = [new RoleMappingConfig { Claim = "https://gatehouse.example.com/roles", Value = "*", Role = "*" }] },
            "auth0|64f1c2e3a4b5c6d7e8f90123", "Xk3Fd9sT2mQpLw8zR1vN6yB0cH4jE7aU", ["email", "openid", "profile", "read:orders", "write:orders"], ["admin", "clerk"]),
        new("keycloak: realm roles + azp client roles", "keycloak.json", new IssuerConfig { Name = "kc", Profile = "keycloak" },
            "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "shop-frontend", ["email", "openid", "orders.read", "profile"], ["clerk", "frontend-user", "offline_access", "uma_authorization"]),
        new("keycloak: profile_client selects the API's client roles", "keycloak.json", new IssuerConfig { Name = "kc", Profile = "keycloak", ProfileClient = "orders-api" },
            "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "shop-frontend", ["email", "openid", "orders.read", "profile"], ["clerk", "offline_access", "orders-admin", "uma_authorization"]),
        new("entra v2: scp string, roles, azp", "entra.json", new IssuerConfig { Name = "entra", Profile = "entra" },
            "MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", ["Orders.Read", "Orders.Write"], ["Orders.Admin", "Orders.Reader"]),
        new("entra v1 app-only: appid, roles, no scp", "entra-v1-app.json", new IssuerConfig { Name = "entra", Profile = "entra" },
            "a2b3c4d5-e6f7-4890-a1b2-c3d4e5f60718", "2d4d11a2-f814-46a7-890a-274a72a7309e", [], ["Orders.Sync"]),
        new("cognito: scope, cognito:groups, client_id", "cognito.json", new IssuerConfig { Name = "cognito", Profile = "cognito" },
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "3n4b5urk1ft4fl3mg5e62d9ado", ["https://orders.example.com/orders.read", "openid"], ["admins", "clerks"]),
        new("generic: RFC 7662 introspection response", "introspection.json", new IssuerConfig { Name = "opaque", Issuer = "https://server.example.com/" },
            "Z5O3upPC88QrAjx00dis", "l238j323ds-23ij4", ["dolphin", "read", "write"], []),
        new("unknown profile read as generic", "generic.json", new IssuerConfig { Name = "x", Profile = "nope" },
            "248289761001", "s6BhdRkqt3", ["openid", "orders.read", "orders.write"], ["auditor", "clerk"]),
    };

    [Theory]
    [MemberData(nameof(Profiles))]
    public void Profiles_map_provider_tokens(ProfileCase c)
    {
        var principal = ClaimProfiles.CreatePrincipal(Fixture(c.Fixture), c.Issuer, null);
        Assert.Equal(c.Subject, principal.Subject);
        Assert.Equal(c.ClientId, principal.ClientId);
        Assert.Equal(c.Scopes, principal.Scopes.Order(StringComparer.Ordinal));
        Assert.Equal(c.Roles, principal.Roles.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Profile_names_are_known()
    {
        Assert.All(["generic", "okta", "auth0", "keycloak", "entra", "cognito", "Okta"], n => Assert.True(ClaimProfiles.IsKnown(n)));
        Assert.False(ClaimProfiles.IsKnown("ldap"));
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
