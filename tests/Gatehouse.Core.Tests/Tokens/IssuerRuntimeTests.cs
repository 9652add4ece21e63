using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

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
        new("CircuitBreakerChanged", c => c with { CircuitBreaker = c.CircuitBreaker with { MinimumThroughput = 10 } }, false),
        new("CircuitBreakerEqual", c => c with { CircuitBreaker = new CircuitBreakerConfig() }, true),
        new("IntrospectionMaxResponseChanged", c => c with { Introspection = c.Introspection! with { MaxResponseBytes = 4096 } }, false),
        new("IntrospectionCacheBoundChanged", c => c with { Introspection = c.Introspection! with { CacheMaxEntries = 10 } }, false),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameSettings_ComparesDeeply(SameCase @case)
    {
        var a = Make();
        Assert.Equal(@case.Same, IssuerRuntime.SameSettings(a, @case.Change(Make())));
    }

    // The binder's ranges for timeouts and breaker durations are the ones the resilience pipeline accepts: every value
    // `check` lets through must build, so a valid config never fails when the snapshot is compiled.
    [Theory]
    [InlineData(10, 500, 2, 1.0)]
    [InlineData(24 * 60 * 60 * 1000, 24 * 60 * 60 * 1000, 10_000, 0.01)]
    public async Task Create_AtTheValidatedBounds_BuildsBothPipelines(int timeoutMs, int breakerMs, int minimumThroughput, double failureRatio)
    {
        using var http = new HttpClient();
        var timeout = TimeSpan.FromMilliseconds(timeoutMs);
        var breaker = TimeSpan.FromMilliseconds(breakerMs);
        var config = Make() with
        {
            Keys = new KeyRefreshConfig { FetchTimeout = timeout },
            Introspection = Make().Introspection! with { Timeout = timeout },
            CircuitBreaker = new CircuitBreakerConfig
            {
                FailureRatio = failureRatio,
                MinimumThroughput = minimumThroughput,
                SamplingDuration = breaker,
                BreakDuration = breaker,
            },
        };

        await using var runtime = new IssuerRuntime(config, http, TimeProvider.System, NullLoggerFactory.Instance);

        Assert.NotNull(runtime.Keys);
        Assert.NotNull(runtime.Introspection);
    }
}
