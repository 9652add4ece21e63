using System.Diagnostics.Metrics;
using Gatehouse.Model;
using Gatehouse.Diagnostics;
using Gatehouse.State;
using Gatehouse.Tokens.Dpop;

namespace Gatehouse.Proxy.State;

/// <summary>
/// Metrics of the state backend and of DPoP proofs, on Gatehouse's meter (so /metrics exports them):
/// <c>gatehouse_state_backend_up{backend}</c> (1 while the backend answers) and
/// <c>gatehouse_dpop_proofs_total{result}</c> (<c>ok</c>, or the reason code without its detail).
/// </summary>
internal static class StateMetrics
{
    public static void Register(GatehouseMetrics metrics, IStateStore state, DpopVerifier dpop)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(dpop);
        metrics.Meter.CreateObservableGauge(
            "gatehouse.state.backend_up",
            () => new Measurement<int>(state.IsHealthy ? 1 : 0, new KeyValuePair<string, object?>("backend", state.Backend)),
            "{boolean}",
            "1 while the state backend (memory, redis) answers; DPoP requests get 503 state.unavailable otherwise.");
        var proofs = metrics.Meter.CreateCounter<long>("gatehouse.dpop.proofs", "{proof}", "DPoP proofs checked, by result (ok or reason code).");
        dpop.Verified += reason => proofs.Add(1, new KeyValuePair<string, object?>("result", reason is null ? "ok" : ReasonCodes.CodeOf(reason)));
    }
}
