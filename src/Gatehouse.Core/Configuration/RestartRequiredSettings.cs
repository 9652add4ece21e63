namespace Gatehouse.Configuration;

/// <summary>
/// The settings a running process fixes when it starts (Kestrel limits, the verified-token cache, the audit
/// pipeline, telemetry export), which a hot reload therefore cannot apply. A reload still swaps in everything else; the host logs these so an operator
/// knows a restart is needed, as it does for listener changes.
/// </summary>
public static class RestartRequiredSettings
{
    private static readonly Dictionary<string, string> s_noBundles = [];
    private static readonly Dictionary<string, TrustBundleEndpointConfig> s_noEndpoints = [];

    /// <summary>Config paths (e.g. <c>limits.max_request_body_bytes</c>) whose value differs between the two configs.</summary>
    public static IReadOnlyList<string> Changed(GatehouseConfig running, GatehouseConfig reloaded)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(reloaded);
        var changed = new List<string>();
        var (limits, newLimits) = (running.Limits, reloaded.Limits);
        Compare(changed, "limits.max_request_headers_total_bytes", limits.MaxRequestHeadersTotalBytes, newLimits.MaxRequestHeadersTotalBytes);
        Compare(changed, "limits.max_request_header_count", limits.MaxRequestHeaderCount, newLimits.MaxRequestHeaderCount);
        Compare(changed, "limits.max_request_body_bytes", limits.MaxRequestBodyBytes, newLimits.MaxRequestBodyBytes);
        // Note: limits.max_concurrent_requests is read from the snapshot per request, so it applies on reload.
        Compare(changed, "limits.max_verified_token_cache_entries", limits.MaxVerifiedTokenCacheEntries, newLimits.MaxVerifiedTokenCacheEntries);

        var (audit, newAudit) = (running.Audit, reloaded.Audit);
        Compare(changed, "audit.path", audit.Path, newAudit.Path);
        Compare(changed, "audit.stdout", audit.Stdout, newAudit.Stdout);
        Compare(changed, "audit.max_file_bytes", audit.MaxFileBytes, newAudit.MaxFileBytes);
        Compare(changed, "audit.max_files", audit.MaxFiles, newAudit.MaxFiles);
        Compare(changed, "audit.queue_capacity", audit.QueueCapacity, newAudit.QueueCapacity);
        Compare(changed, "audit.include_query", audit.IncludeQuery, newAudit.IncludeQuery);

        Compare(changed, "telemetry.otlp_endpoint", running.Telemetry.OtlpEndpoint, reloaded.Telemetry.OtlpEndpoint);
        Compare(changed, "telemetry.service_name", running.Telemetry.ServiceName, reloaded.Telemetry.ServiceName);

        // The state backend is connected once at startup (docs/configuration.md, state).
        Compare(changed, "state.backend", running.State.Backend, reloaded.State.Backend);
        Compare(changed, "state.max_entries", running.State.MaxEntries, reloaded.State.MaxEntries);
        Compare(changed, "state.redis", running.State.Redis, reloaded.State.Redis);
        Compare(changed, "decision_cache.shared", running.DecisionCache.Shared, reloaded.DecisionCache.Shared);

        // Note: admin.ui, ui_token_file and ui_window are read per request; the console's ring is sized at start.
        Compare(changed, "admin.ui_max_decisions", running.Admin.UiMaxDecisions, reloaded.Admin.UiMaxDecisions);
        return changed;
    }

    /// <summary>
    /// True when any listener setting differs (listeners are bound when the process starts). Compared as whole
    /// records, so a listener key added later is covered without touching this; certificate and bundle *files* are
    /// re-read by the TLS layer and need no restart.
    /// </summary>
    public static bool ListenersChanged(GatehouseConfig running, GatehouseConfig reloaded)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(reloaded);
        return running.Listeners.Count != reloaded.Listeners.Count
            || !running.Listeners.Zip(reloaded.Listeners).All(pair => SameListener(pair.First, pair.Second));
    }

    // Note: dpop is left out: its settings are compiled into each snapshot, so they apply on reload.
    private static bool SameListener(ListenerConfig a, ListenerConfig b) =>
        a with { Routes = [], Tls = null, Dpop = null } == b with { Routes = [], Tls = null, Dpop = null }
        && a.Routes.SequenceEqual(b.Routes, StringComparer.Ordinal)
        && SameTls(a.Tls, b.Tls);

    private static bool SameTls(TlsConfig? a, TlsConfig? b) =>
        a is null || b is null
            ? a is null && b is null
            : a with { TrustBundles = s_noBundles, TrustBundleEndpoints = s_noEndpoints } == b with { TrustBundles = s_noBundles, TrustBundleEndpoints = s_noEndpoints }
              && a.TrustBundles.Count == b.TrustBundles.Count
              && a.TrustBundles.All(e => b.TrustBundles.TryGetValue(e.Key, out var path) && path == e.Value)
              && a.TrustBundleEndpoints.Count == b.TrustBundleEndpoints.Count
              && a.TrustBundleEndpoints.All(e => b.TrustBundleEndpoints.TryGetValue(e.Key, out var endpoint) && endpoint == e.Value);

    private static void Compare<T>(List<string> changed, string path, T running, T reloaded)
    {
        if (!EqualityComparer<T>.Default.Equals(running, reloaded))
        {
            changed.Add(path);
        }
    }
}
