using Gatehouse.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Gatehouse.Proxy.Admin;

/// <summary>
/// <c>/metrics</c>: the Prometheus text exposition of Gatehouse's meter and the platform meters, by the OpenTelemetry
/// SDK and its Prometheus exporter (docs/decisions/ADR-0011-prometheus-exposition.md).
/// </summary>
/// <remarks>
/// The exporter maps instrument names by the OpenTelemetry "Prometheus compatibility" rules — the names listed in
/// docs/observability.md (<c>gatehouse.decisions</c> → <c>gatehouse_decisions_total</c>, <c>gatehouse.request.duration</c>
/// (s) → <c>gatehouse_request_duration_seconds</c>). Scope and target info are off, so series carry only their own labels.
/// </remarks>
internal sealed class MetricsExposition : IDisposable
{
    /// <summary>Meters exported besides Gatehouse's: HTTP server and Kestrel, outbound HTTP (JWKS, introspection), the runtime.</summary>
    public static readonly string[] DefaultMeterNames =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "System.Runtime"];

    private readonly MeterProvider _provider;
    private readonly RequestDelegate _scrape;

    public MetricsExposition(GatehouseMetrics metrics, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var own = metrics.Meter;
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter([GatehouseMetrics.MeterName, .. DefaultMeterNames])
            // Note: meters are selected by name, and several GatehouseMetrics may live in one process (embedded hosts,
            // tests); only this instance's instruments are exported under the Gatehouse name.
            // The forwarder's upstream handlers measure through UpstreamMeters: dropped, so never enabled (nothing
            // recorded per proxied request); the backchannel's System.Net.Http instruments are exported.
            .AddView(instrument => (instrument.Meter.Name == GatehouseMetrics.MeterName && !ReferenceEquals(instrument.Meter, own))
                    || instrument.Meter.Scope is Gateway.UpstreamMeters
                ? MetricStreamConfiguration.Drop
                : IsGaugeEndingLikeHistogramSeries(instrument)
                    ? new MetricStreamConfiguration { Name = instrument.Name + ".value" }
                    : null)
            .AddPrometheusExporter(options =>
            {
                // Every scrape sees the counts at that moment (the default caches a response for 300 ms).
                options.ScrapeResponseCacheDurationMilliseconds = 0;
                options.ScopeInfoEnabled = false;
                options.TargetInfoEnabled = false;
            })
            .Build();
        // The exporter's middleware, as a pipeline of its own that the admin listener calls for /metrics only.
        var pipeline = new ApplicationBuilder(services);
        pipeline.UseOpenTelemetryPrometheusScrapingEndpoint(_provider, predicate: static _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
        _scrape = pipeline.Build();
    }

    /// <summary>
    /// A gauge named like a histogram series (the runtime's <c>dotnet.assembly.count</c>) is renamed <c>…_count_value</c>:
    /// Prometheus reserves <c>_count</c>, <c>_sum</c> and <c>_bucket</c> for histograms and promtool flags them.
    /// </summary>
    private static bool IsGaugeEndingLikeHistogramSeries(System.Diagnostics.Metrics.Instrument instrument)
    {
        var type = instrument.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : null;
        var gauge = definition == typeof(System.Diagnostics.Metrics.ObservableGauge<>) || definition == typeof(System.Diagnostics.Metrics.Gauge<>)
            || definition == typeof(System.Diagnostics.Metrics.UpDownCounter<>) || definition == typeof(System.Diagnostics.Metrics.ObservableUpDownCounter<>);
        return gauge && (instrument.Name.EndsWith(".count", StringComparison.Ordinal) || instrument.Name.EndsWith(".sum", StringComparison.Ordinal)
            || instrument.Name.EndsWith(".bucket", StringComparison.Ordinal));
    }

    /// <summary>Writes the exposition (text 0.0.4, or OpenMetrics when the scraper asks for it) as the response.</summary>
    public Task WriteAsync(HttpContext context) => _scrape(context);

    public void Dispose() => _provider.Dispose();
}
