using Microsoft.Extensions.Logging;

namespace Gatehouse.Tokens;

/// <summary>
/// Token engine log messages. EventIds 1100-1199: keys and JWT validation; 1200-1299: introspection.
/// Never a token: only its fingerprint, kid, jti.
/// </summary>
internal static partial class TokenLog
{
    [LoggerMessage(1100, LogLevel.Information, "Issuer {Issuer}: loaded {KeyCount} signing keys from {Source}")]
    public static partial void KeysLoaded(ILogger logger, string issuer, int keyCount, string source);

    [LoggerMessage(1101, LogLevel.Warning, "Issuer {Issuer}: key fetch from {Source} failed: {Error}")]
    public static partial void KeysFetchFailed(ILogger logger, string issuer, string source, string error);

    [LoggerMessage(1102, LogLevel.Warning, "Issuer {Issuer}: JWKS key {Kid} skipped: {Why}")]
    public static partial void KeySkipped(ILogger logger, string issuer, string? kid, string why);

    [LoggerMessage(1103, LogLevel.Information, "Issuer {Issuer}: key {Kid} left the JWKS; tokens signed by it no longer validate")]
    public static partial void KeyRemoved(ILogger logger, string issuer, string? kid);

    [LoggerMessage(1104, LogLevel.Information, "Issuer {Issuer}: unknown kid {Kid}, re-fetching keys")]
    public static partial void UnknownKidRefetch(ILogger logger, string issuer, string? kid);

    [LoggerMessage(1105, LogLevel.Warning, "Issuer {Issuer}: serving last-good keys, {Age} old (max_stale {MaxStale})")]
    public static partial void ServingStaleKeys(ILogger logger, string issuer, TimeSpan age, TimeSpan maxStale);

    [LoggerMessage(1106, LogLevel.Error, "Issuer {Issuer}: keys unavailable (never loaded, or older than max_stale)")]
    public static partial void KeysUnavailable(ILogger logger, string issuer);

    [LoggerMessage(1107, LogLevel.Information, "Issuer {Issuer}: JWKS file {Path} changed, reloading")]
    public static partial void JwksFileChanged(ILogger logger, string issuer, string path);

    [LoggerMessage(1108, LogLevel.Debug, "Issuer {Issuer}: unknown-kid re-fetch suppressed (min_refresh_interval {MinRefreshInterval})")]
    public static partial void RefetchRateLimited(ILogger logger, string issuer, TimeSpan minRefreshInterval);

    [LoggerMessage(1109, LogLevel.Error, "Issuer {Issuer}: HMAC secret file {Path} unusable: {Error}")]
    public static partial void HmacSecretUnusable(ILogger logger, string issuer, string path, string error);

    [LoggerMessage(1150, LogLevel.Debug, "Token rejected: {Reason} (issuer {Issuer}, fingerprint {Fingerprint}, kid {Kid}, jti {Jti}): {Detail}")]
    public static partial void TokenRejected(ILogger logger, string reason, string? issuer, string fingerprint, string? kid, string? jti, string detail);

    [LoggerMessage(1200, LogLevel.Warning, "Issuer {Issuer}: introspection failed: {Error}")]
    public static partial void IntrospectionFailed(ILogger logger, string issuer, string error);

    [LoggerMessage(1201, LogLevel.Debug, "Issuer {Issuer}: token {Fingerprint} is not active")]
    public static partial void IntrospectionInactive(ILogger logger, string issuer, string fingerprint);

    [LoggerMessage(1202, LogLevel.Error, "Issuer {Issuer}: introspection client secret file {Path} unreadable: {Error}")]
    public static partial void IntrospectionSecretUnreadable(ILogger logger, string issuer, string path, string error);

    [LoggerMessage(1203, LogLevel.Warning, "Issuer {Issuer}: introspection circuit is open; answering unavailable")]
    public static partial void IntrospectionCircuitOpen(ILogger logger, string issuer);

    [LoggerMessage(1204, LogLevel.Debug, "Issuer {Issuer}: token {Fingerprint} introspected active, cached for {Ttl}")]
    public static partial void IntrospectionActive(ILogger logger, string issuer, string fingerprint, TimeSpan ttl);
}
