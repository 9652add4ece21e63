namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// <c>limits.max_concurrent_requests</c> across every non-admin listener: requests beyond it are shed at once rather
/// than queued into timeouts. The gateway sheds with a 503; ext_authz answers a shed check in band, as a denial
/// (ExtAuthzEndpoints), because Envoy turns a transport error or an HTTP 5xx into an allow under failure_mode_allow.
/// </summary>
internal sealed class RequestAdmission
{
    private int _inFlight;

    /// <summary>Counts the request in; false (and not counted) when <paramref name="limit"/> (0 = none) is reached.</summary>
    public bool TryEnter(int limit)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        if (limit > 0 && inFlight > limit)
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        return true;
    }

    /// <summary>Counts an admitted request out.</summary>
    public void Exit() => Interlocked.Decrement(ref _inFlight);
}
