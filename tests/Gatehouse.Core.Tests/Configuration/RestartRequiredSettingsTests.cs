using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary>A reload names exactly the settings it cannot apply, and nothing it can.</summary>
public sealed class RestartRequiredSettingsTests
{
    public sealed record ChangeCase(string Name, Func<GatehouseConfig, GatehouseConfig> Change, string[] Expected)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ChangeCase> Cases() =>
    [
        new("Unchanged", c => c with { Limits = new LimitsConfig(), Audit = new AuditConfig() }, []),
        new("VerifiedTokenCache", c => c with { Limits = c.Limits with { MaxVerifiedTokenCacheEntries = 64 } }, ["limits.max_verified_token_cache_entries"]),
        new("KestrelLimits", c => c with { Limits = c.Limits with { MaxRequestBodyBytes = 1, MaxRequestHeaderCount = 7 } },
            ["limits.max_request_header_count", "limits.max_request_body_bytes"]),
        new("ConcurrencyLimit_AppliesLive", c => c with { Limits = c.Limits with { MaxConcurrentRequests = 5 } }, []),
        new("AuditQueue", c => c with { Audit = c.Audit with { QueueCapacity = 5 } }, ["audit.queue_capacity"]),
        new("Telemetry", c => c with { Telemetry = c.Telemetry with { ServiceName = "edge" } }, ["telemetry.service_name"]),
        new("DecisionCache_AppliesLive", c => c with { DecisionCache = c.DecisionCache with { MaxEntries = 5 } }, []),
        new("IssuerBreaker_AppliesLive", c => c with
        {
            Issuers = new Dictionary<string, IssuerConfig> { ["corp"] = new() { CircuitBreaker = new() { MinimumThroughput = 9 } } },
        }, []),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Changed_ListsOnlySettingsFixedAtStartup(ChangeCase @case)
    {
        var running = new GatehouseConfig();

        Assert.Equal(@case.Expected, RestartRequiredSettings.Changed(running, @case.Change(running)));
    }

    public sealed record ListenerCase(string Name, Func<ListenerConfig, ListenerConfig> Change, bool Changed)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<ListenerCase> ListenerCases() =>
    [
        new("Unchanged_FreshCollections", l => l with
        {
            Routes = [.. l.Routes],
            Tls = l.Tls! with { TrustBundles = new Dictionary<string, string>(l.Tls.TrustBundles) },
        }, false),
        new("Address", l => l with { Address = "127.0.0.1:9999" }, true),
        new("IncludeErrorDetails", l => l with { IncludeErrorDetails = true }, true),
        new("TrustForwardedClientCert", l => l with { TrustForwardedClientCert = true }, true),
        new("ExtAuthz", l => l with { ExtAuthz = l.ExtAuthz with { PathPrefix = "/check" } }, true),
        new("Routes", l => l with { Routes = ["orders", "payments"] }, true),
        new("ClientCertificateMode", l => l with { Tls = l.Tls! with { ClientCertificate = ClientCertificateRequirement.Optional } }, true),
        new("TrustBundlePath", l => l with { Tls = l.Tls! with { TrustBundles = new Dictionary<string, string> { ["demo.local"] = "/other.pem" } } }, true),
    ];

    [Theory]
    [MemberData(nameof(ListenerCases))]
    public void ListenersChanged_SeesEveryListenerSetting(ListenerCase @case)
    {
        var listener = new ListenerConfig
        {
            Name = "mesh",
            Mode = ListenerMode.Inbound,
            Address = "127.0.0.1:8443",
            Routes = ["orders"],
            Tls = new TlsConfig
            {
                Certificate = "/c.pem",
                Key = "/k.pem",
                ClientCertificate = ClientCertificateRequirement.Require,
                TrustBundles = new Dictionary<string, string> { ["demo.local"] = "/bundle.pem" },
            },
        };
        var running = new GatehouseConfig { Listeners = [listener] };
        var reloaded = running with { Listeners = [@case.Change(listener)] };

        Assert.Equal(@case.Changed, RestartRequiredSettings.ListenersChanged(running, reloaded));
    }
}
