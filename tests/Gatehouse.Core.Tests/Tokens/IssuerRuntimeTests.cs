using Gatehouse.Configuration;
using Gatehouse.Tokens;

namespace Gatehouse.Tests.Tokens;

public sealed class IssuerRuntimeTests
{
    private static IssuerConfig Make() => new()
    {
        Name = "corp",
        Issuer = "https://idp/",
        Discovery = true,
        Audiences = ["a", "b"],
        Algorithms = ["RS256"],
        RoleMappings = [new RoleMappingConfig { Claim = "groups", Value = "g", Role = "r" }],
        Introspection = new IntrospectionConfig { Endpoint = "https://idp/introspect", ClientId = "c" },
    };

    public sealed record SameCase(string Name, Func<IssuerConfig, IssuerConfig> Change, bool Same)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<SameCase> Cases() =>
    [
        new("EqualListsDifferentInstances", c => c with { Audiences = ["a", "b"], Algorithms = ["RS256"], RoleMappings = [new RoleMappingConfig { Claim = "groups", Value = "g", Role = "r" }] }, true),
        new("AudienceAdded", c => c with { Audiences = ["a", "b", "c"] }, false),
        new("AudienceOrder", c => c with { Audiences = ["b", "a"] }, false),
        new("AlgorithmChanged", c => c with { Algorithms = ["ES256"] }, false),
        new("RoleMappingChanged", c => c with { RoleMappings = [new RoleMappingConfig { Claim = "groups", Value = "g", Role = "x" }] }, false),
        new("NestedKeysRecordChanged", c => c with { Keys = c.Keys with { MaxStale = TimeSpan.FromMinutes(1) } }, false),
        new("NestedKeysRecordEqual", c => c with { Keys = new KeyRefreshConfig() }, true),
        new("IntrospectionChanged", c => c with { Introspection = c.Introspection! with { CacheTtl = TimeSpan.FromSeconds(1) } }, false),
        new("ScalarChanged", c => c with { ClockSkew = TimeSpan.FromSeconds(1) }, false),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameSettings_ComparesDeeply(SameCase @case)
    {
        var a = Make();
        Assert.Equal(@case.Same, IssuerRuntime.SameSettings(a, @case.Change(Make())));
    }
}
