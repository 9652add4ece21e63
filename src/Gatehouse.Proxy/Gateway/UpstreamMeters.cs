using System.Diagnostics.Metrics;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// The meter factory of the forwarder's upstream handlers. Its meters carry this factory as their scope, and
/// <c>/metrics</c> drops every instrument of that scope (Admin/MetricsExposition.cs), so no listener enables them and
/// System.Net.Http records nothing per proxied request.
/// </summary>
/// <remarks>
/// Note: with the instruments enabled, HttpClient's per-request duration histogram and its open-connections counter
/// (updated on every idle/active transition of a pooled connection) cost ~5 % of the process's CPU under load
/// (docs/performance.md, "Profile"), and measured what <c>gatehouse.request.duration</c> already measures. The
/// backchannel (JWKS, discovery, introspection, token endpoints) keeps the shared meter, so
/// <c>http_client_request_duration_seconds</c> still reports those calls (docs/observability.md).
/// </remarks>
public sealed class UpstreamMeters : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    private UpstreamMeters()
    {
    }

    /// <summary>The one instance (meters live as long as the process, like the handlers that use them).</summary>
    public static UpstreamMeters Instance { get; } = new();

    /// <inheritdoc/>
    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_meters)
        {
            _meters.Add(meter);
        }
        return meter;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        // Note: the instance is process-wide; its meters are never disposed before the process ends.
    }
}
