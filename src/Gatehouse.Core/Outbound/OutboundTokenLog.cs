using Microsoft.Extensions.Logging;

namespace Gatehouse.Outbound;

/// <summary>
/// Outbound token events (1900–1999, docs/event-ids.md). Tokens and secrets never appear: only SHA-256 fingerprints,
/// route names, grant names and RFC 6749 §5.2 error codes.
/// </summary>
internal static partial class OutboundTokenLog
{
    [LoggerMessage(EventId = 1900, Level = LogLevel.Debug, Message = "Route {Route}: {Grant} token {Fingerprint} issued, valid until {ExpiresAt}")]
    public static partial void TokenIssued(ILogger logger, string route, string grant, string fingerprint, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "Route {Route}: the token endpoint refused the {Grant} request: {Error} {Description}")]
    public static partial void TokenRefused(ILogger logger, string route, string grant, string error, string description);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Warning, Message = "Route {Route}: the token endpoint is unavailable for {Grant}: {Detail}")]
    public static partial void TokenUnavailable(ILogger logger, string route, string grant, string detail);

    [LoggerMessage(EventId = 1903, Level = LogLevel.Warning, Message = "Route {Route}: refresh failed; still using cached token {Fingerprint}, valid until {ExpiresAt}")]
    public static partial void UsingCachedToken(ILogger logger, string route, string fingerprint, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 1904, Level = LogLevel.Warning, Message = "Route {Route}: token endpoint discovery failed: {Detail}")]
    public static partial void DiscoveryFailed(ILogger logger, string route, string detail);

    [LoggerMessage(EventId = 1905, Level = LogLevel.Debug, Message = "Route {Route}: subject token {Subject} exchanged for {Fingerprint}, cached until {NotAfter}")]
    public static partial void Exchanged(ILogger logger, string route, string subject, string fingerprint, DateTimeOffset notAfter);

    // Next free: 1906.
}
