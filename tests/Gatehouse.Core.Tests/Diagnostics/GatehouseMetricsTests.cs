using System.Diagnostics;
using Gatehouse.Decisions;
using Gatehouse.Diagnostics;
using Gatehouse.Model;
using Gatehouse.Tests.Audit;

namespace Gatehouse.Tests.Diagnostics;

public sealed class GatehouseMetricsTests
{
    [Fact]
    public void RecordDecision_CountsByRouteDecisionAndReasonCode()
    {
        using var metrics = new GatehouseMetrics();
        using var collector = new MetricCollector(metrics.Meter);

        metrics.RecordDecision("orders", allowed: false, "scope.missing:orders.write", 0.002);
        metrics.RecordDecision("orders", allowed: false, "scope.missing:orders.admin", 0.003);
        metrics.RecordDecision(null, allowed: false, ReasonCodes.RouteNotFound, 0.0001);
        metrics.RecordDecision(AuditTestData.Allow(), TimeSpan.FromMilliseconds(1));

        Assert.Equal(2, collector.Sum("gatehouse.decisions", ("route", "orders"), ("decision", "deny"), ("reason", "scope.missing")));
        Assert.Equal(1, collector.Sum("gatehouse.decisions", ("route", "unmatched"), ("reason", "route.not_found")));
        Assert.Equal(1, collector.Sum("gatehouse.decisions", ("decision", "allow"), ("reason", "policy.allow_matched")));
        Assert.Equal(0.006, collector.Sum("gatehouse.request.duration", ("route", "orders")), 6);
        Assert.DoesNotContain(collector.Measurements, m => m.Tags.ContainsKey("reason") && m.Tags["reason"]!.Contains(':', StringComparison.Ordinal));
    }

    [Fact]
    public void TypedMethods_RecordEachInstrument()
    {
        using var metrics = new GatehouseMetrics();
        using var collector = new MetricCollector(metrics.Meter);

        metrics.RecordJwksFetch("corp", success: true);
        metrics.RecordJwksFetch("corp", success: false);
        metrics.RecordIntrospectionCache("corp", hit: true);
        metrics.RecordIntrospectionCache("corp", hit: false);
        metrics.RecordConfigReload(success: false);
        metrics.RecordAuditDropped();
        metrics.RecordAuditSinkError("file");
        metrics.RecordDecisionCache(hit: true);

        Assert.Equal(1, collector.Sum("gatehouse.jwks.fetch", ("issuer", "corp"), ("result", "failure")));
        Assert.Equal(1, collector.Sum("gatehouse.jwks.fetch", ("issuer", "corp"), ("result", "success")));
        Assert.Equal(1, collector.Sum("gatehouse.introspection.cache", ("result", "hit")));
        Assert.Equal(1, collector.Sum("gatehouse.introspection.cache", ("result", "miss")));
        Assert.Equal(1, collector.Sum("gatehouse.config.reloads", ("result", "failure")));
        Assert.Equal(1, collector.Sum("gatehouse.audit.dropped"));
        Assert.Equal(1, collector.Sum("gatehouse.audit.sink_errors", ("sink", "file")));
        Assert.Equal(1, collector.Sum("gatehouse.decision_cache", ("result", "hit")));
    }

    [Fact]
    public void RegisterKeyState_IsObservedPerIssuerUntilDisposed()
    {
        using var metrics = new GatehouseMetrics();
        using var collector = new MetricCollector(metrics.Meter);
        var age = 12.5;
        using var corp = metrics.RegisterKeyState("corp", () => (age, false));
        var partner = metrics.RegisterKeyState("partner", () => (900, true));
        using var broken = metrics.RegisterKeyState("broken", () => throw new InvalidOperationException());

        collector.Observe();
        Assert.Equal(12.5, collector.Sum("gatehouse.jwks.key_age", ("issuer", "corp")));
        Assert.Equal(1, collector.Sum("gatehouse.jwks.stale", ("issuer", "partner")));
        Assert.Equal(0, collector.Sum("gatehouse.jwks.stale", ("issuer", "corp")));

        partner.Dispose();
        collector.Measurements.Clear();
        age = 13;
        collector.Observe();
        Assert.Equal(13, collector.Sum("gatehouse.jwks.key_age", ("issuer", "corp")));
        Assert.DoesNotContain(collector.Measurements, m => m.Tags.GetValueOrDefault("issuer") is "partner" or "broken");
    }

    [Fact]
    public void Listener_SeesOnlyItsOwnInstance()
    {
        using var mine = new GatehouseMetrics();
        using var other = new GatehouseMetrics();
        using var collector = new MetricCollector(mine.Meter);

        other.RecordConfigReload(success: true);

        Assert.Empty(collector.Measurements);
        Assert.Equal(GatehouseMetrics.MeterName, mine.Meter.Name);
    }

    [Fact]
    public void Telemetry_StartsADecisionActivityParentedOnTraceparent()
    {
        var previous = Activity.Current;
        Activity.Current = null;
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == GatehouseTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);
        try
        {
            var activity = GatehouseTelemetry.StartDecision(AuditTestData.Request());
            Assert.NotNull(activity);
            Assert.Equal(AuditTestData.TraceId, activity.TraceId.ToHexString());
            Assert.StartsWith("00-" + AuditTestData.TraceId + "-", GatehouseTelemetry.FormatTraceParent(activity), StringComparison.Ordinal);

            GatehouseTelemetry.CompleteDecision(activity, AuditTestData.Deny());

            var done = Assert.Single(stopped, a => a.TraceId == activity.TraceId);
            Assert.Equal("deny", done.GetTagItem("gatehouse.decision"));
            Assert.Equal("scope.missing:orders.write", done.GetTagItem("gatehouse.reason"));
            Assert.Equal(403, done.GetTagItem("http.response.status_code"));
            Assert.Equal(ActivityStatusCode.Unset, done.Status);
        }
        finally
        {
            Activity.Current = previous;
        }
    }
}
