using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Proxy.Hosting;

/// <summary>Receives every decision after the response was decided (audit, metrics). Must not block.</summary>
public interface IDecisionObserver
{
    void OnDecision(Decision decision, AuthorizationRequest request, TimeSpan latency, int statusCode);
}
