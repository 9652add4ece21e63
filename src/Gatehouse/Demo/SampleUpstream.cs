using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Demo;

/// <summary>A sample service on loopback that answers with what it received (method, path, identity headers).</summary>
internal sealed class SampleUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SampleUpstream(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    public string Address { get; }

    public static async Task<SampleUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(async context =>
        {
            var headers = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in context.Request.Headers)
            {
                var lower = name.ToLowerInvariant();
                if (lower.StartsWith("x-", StringComparison.Ordinal) || lower == "traceparent")
                {
                    headers[lower] = value.ToString();
                }
            }
            var body = new Dictionary<string, object>
            {
                ["service"] = "orders",
                ["method"] = context.Request.Method,
                ["path"] = context.Request.Path.Value ?? "/",
                ["authorization_forwarded"] = context.Request.Headers.ContainsKey("Authorization"),
                ["headers"] = headers,
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(body, DemoJsonContext.Default.DictionaryStringObject)).ConfigureAwait(false);
        });
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SampleUpstream(app, address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/'));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
