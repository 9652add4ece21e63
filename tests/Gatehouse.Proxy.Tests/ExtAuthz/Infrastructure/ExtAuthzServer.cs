using System.Net;
using Gatehouse.Proxy.ExtAuthz;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>A real Kestrel on 127.0.0.1, port 0, hosting one terminal handler; plus a client speaking its protocol.</summary>
internal sealed class ExtAuthzServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ExtAuthzServer(WebApplication app, Uri baseAddress, HttpProtocols protocols)
    {
        _app = app;
        BaseAddress = baseAddress;
        var version = protocols == HttpProtocols.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
        Client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = baseAddress,
            // h2c needs prior knowledge: exactly HTTP/2, or Kestrel answers 400 on an HTTP/1.1 upgrade attempt.
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>
    /// The ext_authz gRPC service (Grpc.AspNetCore, as the product registers it) over h2c (HTTP/2 without TLS), as
    /// Envoy's gRPC client talks to a plaintext ext_authz cluster; <paramref name="notReady"/> drives grpc.health.v1.
    /// </summary>
    public static async Task<ExtAuthzServer> StartGrpcAsync(
        DecideAsync decide,
        ExtAuthzOptions? options = null,
        HttpProtocols protocols = HttpProtocols.Http2,
        Func<string?>? notReady = null,
        bool reflection = false,
        int? maxReceiveMessageBytes = null)
    {
        options ??= new ExtAuthzOptions();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = protocols));
        builder.Services.AddExtAuthzGrpc(
            _ => new ExtAuthzGrpcBackend { Decide = decide, OptionsFor = _ => options, NotReadyReason = notReady ?? (static () => null) },
            maxReceiveMessageBytes ?? options.MaxReceiveMessageBytes,
            reflection);
        var app = builder.Build();
        app.MapExtAuthzGrpc(reflection);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ExtAuthzServer(app, new Uri(address), protocols);
    }

    /// <summary>HTTP/1.1, as Envoy's http_service calls usually are.</summary>
    public static Task<ExtAuthzServer> StartHttpAsync(RequestDelegate handler) => StartAsync(handler, HttpProtocols.Http1);

    public static async Task<ExtAuthzServer> StartAsync(RequestDelegate handler, HttpProtocols protocols)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = protocols));
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ExtAuthzServer(app, new Uri(address), protocols);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
