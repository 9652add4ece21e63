using Microsoft.Extensions.Logging;

namespace Gatehouse.Identity.Spiffe;

/// <summary>Log events of SPIFFE federation bundle fetching (ids in the mTLS range, docs/event-ids.md).</summary>
internal static partial class SpiffeBundleLog
{
    [LoggerMessage(1606, LogLevel.Information, "Trust domain {TrustDomain}: bundle loaded ({Authorities} X.509 authorities, spiffe_sequence {Sequence}) from {Endpoint}", EventName = "FederatedBundleLoaded")]
    public static partial void Loaded(ILogger logger, string trustDomain, int authorities, long? sequence, string endpoint);

    [LoggerMessage(1607, LogLevel.Warning, "Trust domain {TrustDomain}: bundle fetch from {Endpoint} failed ({Error}); the last good bundle keeps serving up to max_stale {MaxStale}", EventName = "FederatedBundleServingStale")]
    public static partial void ServingStale(ILogger logger, string trustDomain, string endpoint, string error, TimeSpan maxStale);

    [LoggerMessage(1608, LogLevel.Error, "Trust domain {TrustDomain}: no usable bundle (fetch from {Endpoint} failed: {Error}); its peers are refused", EventName = "FederatedBundleUnavailable")]
    public static partial void Unavailable(ILogger logger, string trustDomain, string endpoint, string error);

    // Next free id: 1609
}
