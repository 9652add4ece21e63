using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.TestSupport;

/// <summary>What the upstream saw of one request.</summary>
public sealed record ReceivedRequest(string Method, string RawTarget, string Path, IReadOnlyDictionary<string, string> Headers, long BodyLength);

/// <summary>A real upstream on 127.0.0.1:0 that records every request it receives.</summary>
public sealed class TestUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestUpstream(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    public string Address { get; }
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public static async Task<TestUpstream> StartAsync(RequestDelegate? respond = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        TestUpstream? self = null;
        app.Run(async context =>
        {
            long length = 0;
            var buffer = new byte[81920];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
            {
                length += read;
            }
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
            self!.Received.Enqueue(new ReceivedRequest(context.Request.Method, rawTarget, context.Request.Path.Value ?? "", headers, length));
            if (respond is not null)
            {
                await respond(context);
                return;
            }
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync($"upstream ok {context.Request.Method} {rawTarget} body={length}");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new TestUpstream(app, address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/'));
        return self;
    }

    public ReceivedRequest Last() => Received.Last();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
