using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Proxy.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Tls;

/// <summary>Collects log entries; tests assert on event ids, not text.</summary>
internal sealed class CollectingLogger : ILogger
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));

    public IEnumerable<string> Messages(int eventId) => Entries.Where(e => e.EventId == eventId).Select(e => e.Message);
}

/// <summary>A temporary directory with a development PKI minted for one test run (no committed keys).</summary>
internal sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Directory = Gatehouse.Testing.TestTemp.CreateDirectory("tls-");
        var caOptions = new DevCaOptions { NotBefore = DateTimeOffset.UtcNow.AddDays(-10), Lifetime = TimeSpan.FromDays(30) };
        CaA = DevCertificateAuthority.Create("a.test", TimeProvider.System, caOptions);
        CaB = DevCertificateAuthority.Create("b.test", TimeProvider.System, caOptions);
        BundleA = WriteText("bundle-a.pem", CaA.CertificatePem);
        BundleB = WriteText("bundle-b.pem", CaB.CertificatePem);
    }

    public string Directory { get; }
    public DevCertificateAuthority CaA { get; }
    public DevCertificateAuthority CaB { get; }
    public string BundleA { get; }
    public string BundleB { get; }

    public IssuedCertificate Workload(string spiffeId, DevCertificateAuthority? ca = null)
        => (ca ?? CaA).IssueWorkload(SpiffeId.Parse(spiffeId), new WorkloadCertificateOptions { DnsNames = ["localhost"] });

    /// <summary>Writes cert + key files under a name; returns (certificate path, key path).</summary>
    public (string Certificate, string Key) Write(string name, IssuedCertificate issued)
    {
        var certificate = Path.Combine(Directory, name + ".pem");
        var key = Path.Combine(Directory, name + "_key.pem");
        DevCertificateFiles.WriteAtomically(key, issued.KeyPem, secret: true);
        DevCertificateFiles.WriteAtomically(certificate, issued.CertificatePem, secret: false);
        return (certificate, key);
    }

    public string WriteText(string name, string content)
    {
        var path = Path.Combine(Directory, name);
        DevCertificateFiles.WriteAtomically(path, content, secret: false);
        return path;
    }

    public void Dispose()
    {
        CaA.Dispose();
        CaB.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>A real Kestrel server on 127.0.0.1:0 whose listener is configured by <see cref="TlsListenerConfigurator"/>.</summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TlsTestServer(WebApplication app, TlsListenerState state, Uri address)
    {
        _app = app;
        State = state;
        Address = address;
    }

    public TlsListenerState State { get; }
    public Uri Address { get; }

    /// <summary>Starts a server whose "/" answers the peer identity ("anonymous" when none) and "/thumbprint" the x5t#S256.</summary>
    public static async Task<TlsTestServer> StartAsync(TlsConfig tls, ILogger logger, HttpProtocols protocols = HttpProtocols.Http1AndHttp2, Action<WebApplication>? map = null, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        TlsListenerState? state = null;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = protocols;
            state = TlsListenerConfigurator.Configure(listen, tls, logger, time ?? TimeProvider.System, new TlsListenerOptions { ListenerName = "test", ReloadPollInterval = TimeSpan.Zero });
        }));
        var app = builder.Build();
        app.MapGet("/", (HttpContext context) => context.GetPeerIdentity()?.Identity?.Value ?? "anonymous");
        app.MapGet("/thumbprint", (HttpContext context) => context.GetPeerIdentity()?.Thumbprint ?? "none");
        map?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TlsTestServer(app, state!, new Uri(address.Replace("127.0.0.1", "localhost", StringComparison.Ordinal)));
    }

    /// <summary>A client that presents <paramref name="clientCertificate"/> (or nothing) and records the server certificate.</summary>
    public static HttpClient Client(X509Certificate2? clientCertificate, Action<X509Certificate2>? serverCertificateSeen = null, Version? version = null)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            SslOptions =
            {
                LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate!,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    serverCertificateSeen?.Invoke(X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData()));
                    return true; // the test client does not authenticate the test server
                },
            },
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await State.DisposeAsync();
    }
}
