using System.Net;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Diagnostics;
using Gatehouse.Proxy.Admin;
using Gatehouse.Proxy.Gateway;
using Gatehouse.Runtime;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// A running Gatehouse process: one Kestrel server whose endpoints are the configured listeners (each connection
/// tagged with its listener), the current config snapshot, the issuers' key lifecycles, the audit pipeline and
/// the reload watcher. Used by <c>gatehouse run</c>, <c>gatehouse demo</c> and the integration tests.
/// </summary>
public sealed partial class GatehouseServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, ListenOptions> _listenOptions;
    private readonly HttpClient _backchannel;
    private readonly AuditPipeline _audit;
    private readonly MetricsExposition _exposition;
    private readonly ConfigReloader? _reloader;
    private readonly ILogger _logger;
    private TracingSetup? _tracing;
    private int _disposed;

    private GatehouseServer(
        WebApplication app,
        Dictionary<string, ListenOptions> listenOptions,
        SnapshotHolder snapshots,
        SnapshotCompiler compiler,
        HttpClient backchannel,
        AuditPipeline audit,
        GatehouseMetrics metrics,
        MetricsExposition exposition,
        ConfigReloader? reloader,
        ILogger logger)
    {
        _app = app;
        _listenOptions = listenOptions;
        Snapshots = snapshots;
        Compiler = compiler;
        _backchannel = backchannel;
        _audit = audit;
        Metrics = metrics;
        _exposition = exposition;
        _reloader = reloader;
        _logger = logger;
    }

    public SnapshotHolder Snapshots { get; }
    internal SnapshotCompiler Compiler { get; }
    public GatehouseMetrics Metrics { get; }
    public IServiceProvider Services => _app.Services;

    /// <summary>The state of the last reload (null when the config is not watched).</summary>
    public ReloadStatus? ReloadStatus => _reloader?.Status;

    /// <summary>The bound address of a listener, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri GetListenerUri(string listenerName)
    {
        var options = _listenOptions[listenerName];
        var endPoint = (IPEndPoint)options.EndPoint;
        var listener = Snapshots.Current.Config.Listeners.First(l => l.Name == listenerName);
        var host = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)
            ? "127.0.0.1"
            : endPoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
        return new Uri($"{(listener.Tls is null ? "http" : "https")}://{host}:{endPoint.Port}");
    }

    /// <summary>Starts the listeners and the issuers' key prefetch. Readiness (<c>/readyz</c>) follows the keys.</summary>
    public static async Task<GatehouseServer> StartAsync(GatehouseServerOptions options, CancellationToken cancellationToken = default)
    {
        // Note: a bare LF ends a header line only for lenient parsers; a proxy in front that disagrees would see one
        // header where Kestrel sees two (request smuggling). RFC 9112 §2.2 allows refusing it, so Gatehouse does.
        AppContext.SetSwitch("Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators", true);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        if (options.ConfigureLogging is not null)
        {
            options.ConfigureLogging(builder.Logging);
        }
        else
        {
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = false);
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
            // Note: YARP logs two Information lines per forwarded request ("Proxying to", "Received HTTP/1.1
            // response"); at the default level that halved throughput (docs/performance.md, tuning log).
            builder.Logging.AddFilter("Yarp", LogLevel.Warning);
            builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
            builder.Logging.AddFilter("Grpc", LogLevel.Warning);
            // Note: the health check service logs every unhealthy result as an Error, once per Watch refresh period;
            // readiness itself is logged where it changes (issuer key loads and failures).
            builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);
        }
        // Note: while any level of this category is enabled, ASP.NET Core hosting creates an Activity and a logging
        // scope for every request (for log correlation), and SocketsHttpHandler then creates a child Activity for the
        // upstream call and injects headers from it. Its only messages are the Information "Request starting/finished"
        // lines, so it is off: without an exporter no Activity exists per request and the gateway propagates W3C trace
        // context itself (Gateway/TraceContext.cs); with telemetry.otlp_endpoint the exporter's listener still gets one.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);

        var config = options.Config;
        var listenOptions = new Dictionary<string, ListenOptions>(StringComparer.Ordinal);
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestHeadersTotalSize = config.Limits.MaxRequestHeadersTotalBytes;
            kestrel.Limits.MaxRequestHeaderCount = config.Limits.MaxRequestHeaderCount;
            kestrel.Limits.MaxRequestBodySize = config.Limits.MaxRequestBodyBytes;
            foreach (var listener in config.Listeners)
            {
                if (!ListenAddress.TryParse(listener.Address, out var endPoint))
                {
                    throw new InvalidOperationException($"listeners.{listener.Name}.address: '{listener.Address}' is not a valid address (validated configs never reach here).");
                }
                kestrel.Listen(endPoint, listen =>
                {
                    listenOptions[listener.Name] = listen;
                    // Plaintext endpoints cannot negotiate HTTP/2 (no ALPN): h2c for gRPC ext_authz, HTTP/1.1 elsewhere.
                    listen.Protocols = listener.Tls is not null
                        ? HttpProtocols.Http1AndHttp2
                        : listener.Mode == ListenerMode.ExtAuthzGrpc ? HttpProtocols.Http2 : HttpProtocols.Http1;
                    var tagged = listener;
                    listen.Use(next => connection =>
                    {
                        connection.Items[ListenerTag.Key] = tagged;
                        return next(connection);
                    });
                    if (listener.Tls is not null)
                    {
                        ListenerTls.Configure(listen, listener, options.TimeProvider, kestrel.ApplicationServices);
                    }
                });
            }
        });

        var backchannel = new HttpClient(options.BackchannelHandlerFactory?.Invoke() ?? new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        backchannel.DefaultRequestHeaders.UserAgent.ParseAdd("gatehouse/1.0");

        var metrics = new GatehouseMetrics();
        var tracing = TracingSetup.Start(config.Telemetry);

        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton(options.TimeProvider);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<SnapshotHolder>();
        // Note: the default 10,000 verified tokens (~3 KB each: the claims document) bound the cache at ~30 MB; a proxy
        // rarely sees more distinct live tokens at once, and a miss only costs one signature check (docs/performance.md,
        // memory). The cache lives as long as the process, so limits.max_verified_token_cache_entries applies on restart.
        builder.Services.AddSingleton(sp => new TokenAuthenticator(options.TimeProvider, sp.GetRequiredService<ILoggerFactory>(), verifiedCacheCapacity: config.Limits.MaxVerifiedTokenCacheEntries));
        builder.Services.AddSingleton(sp => new DecisionEngine(sp.GetRequiredService<TokenAuthenticator>()));
        builder.Services.AddSingleton(sp => new UpstreamClients(route => OutboundHandlers.Create(route, options.TimeProvider, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Proxy.Outbound"))));
        builder.Services.AddSingleton<PeerIdentityResolver>();
        builder.Services.AddSingleton<HandshakeRejections>();
        builder.Services.AddSingleton<GatewayHandler>();
        builder.Services.AddSingleton<RequestAdmission>();
        builder.Services.AddSingleton(sp => AuditPipeline.FromConfig(config.Audit, metrics, sp.GetRequiredService<ILoggerFactory>(), options.AuditSinks));
        builder.Services.AddSingleton(sp => new TelemetryObserver(sp.GetRequiredService<AuditPipeline>(), metrics, config.Audit.IncludeQuery, options.TimeProvider));
        builder.Services.AddSingleton<IDecisionObserver>(sp => sp.GetRequiredService<TelemetryObserver>());
        builder.Services.AddSingleton<ExtAuthzEndpoints>();
        ExtAuthzGrpcHosting.AddServices(builder.Services, config);

        var app = builder.Build();
        var exposition = new MetricsExposition(metrics, app.Services);
        var loggerFactory = app.Services.GetRequiredService<ILoggerFactory>();
        var logger = loggerFactory.CreateLogger<GatehouseServer>();
        var snapshots = app.Services.GetRequiredService<SnapshotHolder>();
        var compiler = new SnapshotCompiler(backchannel, options.TimeProvider, loggerFactory);
        var compilation = compiler.Compile(config, previous: null);
        snapshots.Install(compilation.Snapshot);
        RegisterIssuerMetrics(metrics, compilation.Started);

        var audit = app.Services.GetRequiredService<AuditPipeline>();
        var observer = app.Services.GetRequiredService<TelemetryObserver>();
        app.Services.GetRequiredService<HandshakeRejections>().Rejected += observer.OnHandshakeRejected;
        var tokens = app.Services.GetRequiredService<TokenAuthenticator>();
        tokens.IntrospectionCacheLookup += (issuer, hit) => metrics.RecordIntrospectionCache(issuer, hit);

        ConfigReloader? reloader = null;
        if (options.ConfigPath is not null && options.WatchForChanges)
        {
            reloader = new ConfigReloader(options, snapshots, compiler, metrics, loggerFactory.CreateLogger<ConfigReloader>());
            var peers = app.Services.GetRequiredService<PeerIdentityResolver>();
            reloader.CertificateReloadRequested += peers.ReloadCertificates;
        }

        var server = new GatehouseServer(app, listenOptions, snapshots, compiler, backchannel, audit, metrics, exposition, reloader, logger)
        {
            _tracing = tracing,
        };
        var dispatcher = new RequestDispatcher(server, app.Services, observer);
        ExtAuthzGrpcHosting.UseEndpoints(app, config);
        app.Run(dispatcher.DispatchAsync);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var issuer in compilation.Started)
        {
            _ = issuer.StartAsync(CancellationToken.None);
        }
        reloader?.Start();
        LogStarted(logger, config.Listeners.Count, compilation.Snapshot.Revision);
        return server;
    }

    internal static void RegisterIssuerMetrics(GatehouseMetrics metrics, IReadOnlyList<IssuerRuntime> issuers)
    {
        foreach (var issuer in issuers)
        {
            issuer.FetchCompleted += (name, success) => metrics.RecordJwksFetch(name, success);
            var captured = issuer;
            metrics.RegisterKeyState(issuer.Name, () =>
            {
                var state = captured.KeyState;
                return (state.Age?.TotalSeconds ?? 0, state.IsStale);
            });
        }
    }

    /// <summary>Reloads the config file now (as on a change or SIGHUP). Returns whether the new config is in force.</summary>
    public Task<bool> ReloadAsync() => _reloader?.ReloadAsync("manual") ?? Task.FromResult(false);

    /// <summary>Waits until every issuer has keys (or the timeout passes).</summary>
    public async Task<bool> WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Snapshots.Current.IsReady)
            {
                return true;
            }
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        return Snapshots.Current.IsReady;
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app, cancellationToken);

    internal Task WriteMetricsAsync(HttpContext context) => _exposition.WriteAsync(context);

    /// <summary>Waits until every audit record queued so far has been written to the sinks.</summary>
    public Task FlushAuditAsync(CancellationToken cancellationToken = default) => _audit.FlushAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _reloader?.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        // Note: the audit queue is drained after the listeners stopped, so every decision made is written.
        await _audit.DisposeAsync().ConfigureAwait(false);
        if (Snapshots.HasSnapshot)
        {
            foreach (var issuer in Snapshots.Current.Issuers.Values)
            {
                await issuer.DisposeAsync().ConfigureAwait(false);
            }
        }
        _exposition.Dispose();
        _tracing?.Dispose();
        Metrics.Dispose();
        _backchannel.Dispose();
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "Gatehouse started: {Listeners} listener(s), config revision {Revision}")]
    private static partial void LogStarted(ILogger logger, int listeners, long revision);
}
