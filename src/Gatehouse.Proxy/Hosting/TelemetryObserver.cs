using Gatehouse.Audit;
using Gatehouse.Decisions;
using Gatehouse.Diagnostics;
using Gatehouse.Model;

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

    /// <summary>Audits a client certificate refused in the TLS handshake (495 invalid, 496 missing, as nginx).</summary>
    public void OnHandshakeRejected(Proxy.Tls.PeerCertificateRejection rejection)
    {
        var missing = rejection.Reason == ReasonCodes.PeerCertificateMissing;
        var decision = new Decision
        {
            Outcome = DecisionOutcome.Deny,
            StatusCode = missing ? 496 : 495,
            Reasons = [rejection.Reason],
        };
        var request = new AuthorizationRequest
        {
            Method = "TLS",
            Host = "",
            RawPath = "",
            GetHeader = static _ => null,
            SourceAddress = (rejection.Remote as System.Net.IPEndPoint)?.Address,
            Listener = rejection.Listener,
        };
        OnDecision(decision, request, TimeSpan.Zero, decision.StatusCode);
    }
}
