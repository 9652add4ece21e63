using System.Diagnostics;
using Gatehouse.Configuration;
using Gatehouse.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// W3C trace context: without an exporter, activities of ASP.NET Core and HttpClient are created for propagation
/// only (not recorded), so an inbound <c>traceparent</c> continues to the upstream with Gatehouse's hop as parent.
/// With <c>telemetry.otlp_endpoint</c>, the request, decision and upstream spans are exported over OTLP.
/// </summary>
internal sealed class TracingSetup : IDisposable
{
    private static readonly string[] s_sources = ["Microsoft.AspNetCore", "System.Net.Http", GatehouseTelemetry.SourceName];
    private readonly IDisposable _owned;

    private TracingSetup(IDisposable owned) => _owned = owned;

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

        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or "System.Net.Http",
            // Propagation only: trace ids flow, nothing is recorded or exported.
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return new TracingSetup(listener);
    }

    public void Dispose() => _owned.Dispose();
}
