using System.Diagnostics;
using Gatehouse.Configuration;
using Gatehouse.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// Tracing export: with <c>telemetry.otlp_endpoint</c>, the request, decision and upstream spans are exported over
/// OTLP. Without it nothing is recorded; W3C trace context is still propagated to upstreams by the gateway.
/// </summary>
internal sealed class TracingSetup : IDisposable
{
    private static readonly string[] s_sources = ["Microsoft.AspNetCore", "System.Net.Http", GatehouseTelemetry.SourceName];
    private readonly IDisposable? _owned;

    private TracingSetup(IDisposable? owned) => _owned = owned;

    public static TracingSetup Start(TelemetryConfig config)
    {
        if (config.OtlpEndpoint is { } endpoint && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            var provider = Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(config.ServiceName))
                .AddSource(s_sources)
                .AddOtlpExporter(o =>
                {
                    o.Endpoint = uri;
                    o.Protocol = uri.AbsolutePath.Contains("/v1/traces", StringComparison.Ordinal) ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                })
                .Build();
            return new TracingSetup(provider);
        }

        // Without an exporter no Activity is created per request: the gateway propagates W3C trace context itself
        // (Gateway/TraceContext.cs), which costs a header parse instead of two Activity objects per request.
        return new TracingSetup(null);
    }

    public void Dispose() => _owned?.Dispose();
}
