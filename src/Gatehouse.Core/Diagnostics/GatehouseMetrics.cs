using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gatehouse.Audit;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Diagnostics;

/// <summary>
/// Gatehouse's instruments, on one <see cref="System.Diagnostics.Metrics.Meter"/> named <see cref="MeterName"/>.
/// Typed methods keep call sites short and allocation-free (tags go through <see cref="TagList"/>).
/// </summary>
/// <remarks>
/// Instrument names follow OpenTelemetry conventions (dotted, unit separate); the admin listener's exporter
/// (OpenTelemetry's Prometheus exporter, Proxy/Admin/MetricsExposition) turns them into the Prometheus names listed in docs/observability.md (e.g. <c>gatehouse.decisions</c> →
/// <c>gatehouse_decisions_total</c>, <c>gatehouse.request.duration</c> (s) →
/// <c>gatehouse_request_duration_seconds</c>). It is an instance so that tests can each own one; exporters and
/// listeners select by the <see cref="Meter"/> instance, not by name.
/// </remarks>
public sealed class GatehouseMetrics : IDisposable, IAuditMetrics
{
    /// <summary>The meter name (and the <see cref="GatehouseTelemetry"/> activity source name).</summary>
    public const string MeterName = "Gatehouse";

    /// <summary>Label value for decisions that matched no route.</summary>
    public const string UnmatchedRoute = "unmatched";

    // Note: decisions take microseconds to low milliseconds; the OTel default buckets (5 ms and up) would put
    // them all in the first bucket. These cover 100 µs … 10 s (a slow introspection call).
    private static readonly double[] s_durationBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    // Note: parametrised reasons (`scope.missing:orders.write`) would make label cardinality unbounded; the label
    // keeps the code only. The map avoids allocating the prefix on every decision.
    private static readonly ConcurrentDictionary<string, string> s_reasonCodes = new(StringComparer.Ordinal);
    private const int MaxCachedReasons = 4096;

    private readonly bool _ownsMeter;
    private readonly Counter<long> _decisions;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _jwksFetches;
    private readonly Counter<long> _trustBundleFetches;
    private readonly Counter<long> _introspectionCache;
    private readonly Counter<long> _configReloads;
    private readonly Counter<long> _auditDropped;
    private readonly Counter<long> _auditWritten;
    private readonly Counter<long> _auditSinkErrors;
    private readonly Counter<long> _decisionCache;
    private readonly ConcurrentDictionary<string, Func<(double AgeSeconds, bool Stale)>> _keyStates = new(StringComparer.Ordinal);

    /// <summary>Creates the instruments on a new meter owned (and disposed) by this instance.</summary>
    public GatehouseMetrics()
        : this(new Meter(MeterName, typeof(GatehouseMetrics).Assembly.GetName().Version?.ToString()), ownsMeter: true)
    {
    }

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/> (DI hosts); the factory owns it.</summary>
    public GatehouseMetrics(IMeterFactory meterFactory)
        : this(CreateFromFactory(meterFactory), ownsMeter: false)
    {
    }

    private GatehouseMetrics(Meter meter, bool ownsMeter)
    {
        Meter = meter;
        _ownsMeter = ownsMeter;
        _decisions = meter.CreateCounter<long>("gatehouse.decisions", "{decision}",
            "Authorization decisions by route, decision (allow|deny|audit|dry_run) and first reason code.");
        _duration = meter.CreateHistogram("gatehouse.request.duration", "s",
            "Time to decide on a request (token validation, introspection, policy), by route and decision.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });
        _jwksFetches = meter.CreateCounter<long>("gatehouse.jwks.fetch", "{fetch}",
            "JWKS fetches by issuer and result (success|failure).");
        _trustBundleFetches = meter.CreateCounter<long>("gatehouse.trust_bundle.fetch", "{fetch}",
            "SPIFFE federation bundle fetches by trust domain and result (success|failure).");
        meter.CreateObservableGauge("gatehouse.jwks.key_age", ObserveKeyAge, "s",
            "Seconds since the issuer's keys were last fetched successfully.");
        meter.CreateObservableGauge("gatehouse.jwks.stale", ObserveStale, "{boolean}",
            "1 when the issuer's keys are past their refresh time and served from the last good copy.");
        _introspectionCache = meter.CreateCounter<long>("gatehouse.introspection.cache", "{lookup}",
            "Introspection cache lookups by issuer and result (hit|miss).");
        _configReloads = meter.CreateCounter<long>("gatehouse.config.reloads", "{reload}",
            "Configuration reloads by result (success|failure).");
        _auditDropped = meter.CreateCounter<long>("gatehouse.audit.dropped", "{record}",
            "Audit records dropped because the audit queue was full.");
        _auditWritten = meter.CreateCounter<long>("gatehouse.audit.records", "{record}",
            "Audit records handed to the audit sinks.");
        _auditSinkErrors = meter.CreateCounter<long>("gatehouse.audit.sink_errors", "{error}",
            "Audit sink write or flush failures by sink.");
        _decisionCache = meter.CreateCounter<long>("gatehouse.decision_cache", "{lookup}",
            "ext_authz decision cache lookups by result (hit|miss).");
    }

    /// <summary>The meter the instruments live on; exporters select this instance.</summary>
    public Meter Meter { get; }

    /// <summary>Counts a decision and records how long it took.</summary>
    /// <param name="route">Route name, or null when no route matched.</param>
    /// <param name="decision">One of <see cref="AuditDecisions"/>.</param>
    /// <param name="reason">The most decisive reason code; a <c>:detail</c> suffix is dropped.</param>
    /// <param name="seconds">Time to decide.</param>
    public void RecordDecision(string? route, string decision, string? reason, double seconds)
    {
        route ??= UnmatchedRoute;
        var decisions = new TagList
        {
            { "route", route },
            { "decision", decision },
            { "reason", ReasonCode(reason) },
        };
        _decisions.Add(1, in decisions);
        var duration = new TagList
        {
            { "route", route },
            { "decision", decision },
        };
        _duration.Record(seconds, in duration);
    }

    /// <summary>Counts an allow or deny decision and records how long it took.</summary>
    public void RecordDecision(string? route, bool allowed, string? reason, double seconds) =>
        RecordDecision(route, allowed ? AuditDecisions.Allow : AuditDecisions.Deny, reason, seconds);

    /// <summary>Counts <paramref name="decision"/> (kind as in the audit record) and records its latency.</summary>
    public void RecordDecision(Decision decision, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(decision);
        RecordDecision(decision.RouteName, AuditDecisions.From(decision),
            decision.Reasons.Count > 0 ? decision.Reasons[0] : null, elapsed.TotalSeconds);
    }

    /// <summary>Counts a JWKS fetch for the issuer (its configured name).</summary>
    public void RecordJwksFetch(string issuer, bool success)
    {
        var tags = new TagList { { "issuer", issuer }, { "result", success ? "success" : "failure" } };
        _jwksFetches.Add(1, in tags);
    }

    /// <summary>Counts a SPIFFE federation bundle fetch for a trust domain (<c>tls.trust_bundles.TD.endpoint</c>).</summary>
    public void RecordTrustBundleFetch(string trustDomain, bool success)
    {
        var tags = new TagList { { "trust_domain", trustDomain }, { "result", success ? "success" : "failure" } };
        _trustBundleFetches.Add(1, in tags);
    }

    /// <summary>
    /// Registers how to read an issuer's key age and staleness; read at each scrape. Dispose the result when the
    /// issuer goes away (config reload). Registering the same issuer again replaces the earlier callback.
    /// </summary>
    /// <remarks>The callback runs on the scraping thread: make it cheap and non-blocking.</remarks>
    public IDisposable RegisterKeyState(string issuer, Func<(double AgeSeconds, bool Stale)> state)
    {
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        ArgumentNullException.ThrowIfNull(state);
        _keyStates[issuer] = state;
        return new KeyStateRegistration(_keyStates, issuer, state);
    }

    /// <summary>Counts an introspection cache lookup.</summary>
    public void RecordIntrospectionCache(string issuer, bool hit)
    {
        var tags = new TagList { { "issuer", issuer }, { "result", hit ? "hit" : "miss" } };
        _introspectionCache.Add(1, in tags);
    }

    /// <summary>Counts a configuration reload.</summary>
    public void RecordConfigReload(bool success)
    {
        var tags = new TagList { { "result", success ? "success" : "failure" } };
        _configReloads.Add(1, in tags);
    }

    /// <summary>Counts an audit record dropped because the queue was full.</summary>
    public void RecordAuditDropped() => _auditDropped.Add(1);

    /// <summary>Counts an audit record handed to the sinks.</summary>
    public void RecordAuditWritten() => _auditWritten.Add(1);

    /// <summary>Counts a failure of an audit sink.</summary>
    public void RecordAuditSinkError(string sink)
    {
        var tags = new TagList { { "sink", sink } };
        _auditSinkErrors.Add(1, in tags);
    }

    /// <summary>Counts an ext_authz decision cache lookup.</summary>
    public void RecordDecisionCache(bool hit)
    {
        var tags = new TagList { { "result", hit ? "hit" : "miss" } };
        _decisionCache.Add(1, in tags);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }

    internal static string ReasonCode(string? reason)
    {
        if (string.IsNullOrEmpty(reason))
        {
            return "none";
        }

        var colon = reason.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return reason;
        }

        if (s_reasonCodes.TryGetValue(reason, out var code))
        {
            return code;
        }

        code = reason[..colon];
        if (s_reasonCodes.Count < MaxCachedReasons)
        {
            s_reasonCodes.TryAdd(reason, code);
        }

        return code;
    }

    private static Meter CreateFromFactory(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        return meterFactory.Create(new MeterOptions(MeterName)
        {
            Version = typeof(GatehouseMetrics).Assembly.GetName().Version?.ToString(),
        });
    }

    private List<Measurement<double>> ObserveKeyAge()
    {
        var result = new List<Measurement<double>>(_keyStates.Count);
        foreach (var (issuer, state) in _keyStates)
        {
            if (TryRead(state, out var value))
            {
                result.Add(new Measurement<double>(value.AgeSeconds, new KeyValuePair<string, object?>("issuer", issuer)));
            }
        }

        return result;
    }

    private List<Measurement<int>> ObserveStale()
    {
        var result = new List<Measurement<int>>(_keyStates.Count);
        foreach (var (issuer, state) in _keyStates)
        {
            if (TryRead(state, out var value))
            {
                result.Add(new Measurement<int>(value.Stale ? 1 : 0, new KeyValuePair<string, object?>("issuer", issuer)));
            }
        }

        return result;
    }

    private static bool TryRead(Func<(double AgeSeconds, bool Stale)> state, out (double AgeSeconds, bool Stale) value)
    {
        try
        {
            value = state();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Note: one broken issuer must not blank the gauge for every other issuer; its series is left out.
            value = default;
            return false;
        }
    }

    private sealed class KeyStateRegistration(
        ConcurrentDictionary<string, Func<(double AgeSeconds, bool Stale)>> states,
        string issuer,
        Func<(double AgeSeconds, bool Stale)> state) : IDisposable
    {
        public void Dispose() => states.TryRemove(new KeyValuePair<string, Func<(double AgeSeconds, bool Stale)>>(issuer, state));
    }
}
