using Gatehouse.Audit;
using Gatehouse.Decisions;
using Gatehouse.Diagnostics;

namespace Gatehouse.Proxy.Hosting;

/// <summary>Records each decision: one audit record (queued, never blocking) and the decision metrics.</summary>
internal sealed class TelemetryObserver : IDecisionObserver
{
    private readonly AuditPipeline _audit;
    private readonly GatehouseMetrics _metrics;
    private readonly bool _includeQuery;
    private readonly TimeProvider _time;

    public TelemetryObserver(AuditPipeline audit, GatehouseMetrics metrics, bool includeQuery, TimeProvider time)
    {
        _audit = audit;
        _metrics = metrics;
        _includeQuery = includeQuery;
        _time = time;
    }

    public void OnDecision(Decision decision, AuthorizationRequest request, TimeSpan latency, int statusCode)
    {
        _metrics.RecordDecision(decision, latency);
        _audit.TryWrite(AuditRecord.Create(decision, request, latency, _time.GetUtcNow(), _includeQuery));
    }
}
