using System.Collections.Concurrent;
using System.Net;
using Gatehouse.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Observability;

/// <summary>With <c>telemetry.otlp_endpoint</c>, decision spans are exported over OTLP/HTTP to a real receiver.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Spans_AreExported_ToTheConfiguredOtlpEndpoint()
    {
        var received = new ConcurrentQueue<(string Path, string ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var collector = builder.Build();
        collector.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path.Value ?? "", context.Request.ContentType ?? "", body.ToArray()));
            context.Response.StatusCode = 200;
        });
        await collector.StartAsync();
        var endpoint = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/v1/traces";

        var gateway = await GatewayHarness.StartAsync((upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks,
            extra: $"telemetry: {{ otlp_endpoint: \"{endpoint}\", service_name: gatehouse-test }}"));
        using (var response = await gateway.GetAsync("/orders/1", gateway.Keys.Mint()))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // Disposing the server flushes the tracer provider.
        await gateway.DisposeAsync();

        var exports = received.Where(r => r.Path == "/v1/traces").ToList();
        Assert.NotEmpty(exports);
        Assert.All(exports, e => Assert.Equal("application/x-protobuf", e.ContentType));
        var text = string.Concat(exports.Select(e => System.Text.Encoding.UTF8.GetString(e.Body)));
        Assert.Contains("gatehouse.decision", text, StringComparison.Ordinal);
        Assert.Contains("gatehouse-test", text, StringComparison.Ordinal);
    }
}
