using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.TestSupport;

/// <summary>
/// A real Gatehouse (Kestrel on 127.0.0.1:0) in front of a real upstream, with a <c>jwks_file</c> issuer whose
/// keys are generated per run. The config is a real file, so reload tests edit it on disk.
/// </summary>
public sealed class GatewayHarness : IAsyncDisposable
{
    private GatewayHarness(string directory, TestIssuerKeys keys, TestUpstream upstream, GatehouseServer server, HttpClient client)
    {
        Directory = directory;
        Keys = keys;
        Upstream = upstream;
        Server = server;
        Client = client;
    }

    public string Directory { get; }
    public string ConfigPath => Path.Combine(Directory, "gatehouse.yaml");
    public string JwksPath => Path.Combine(Directory, "jwks.json");
    public TestIssuerKeys Keys { get; }
    public TestUpstream Upstream { get; }
    public GatehouseServer Server { get; }
    /// <summary>A client whose base address is the gateway listener.</summary>
    public HttpClient Client { get; }
    public Uri AdminUri => Server.GetListenerUri("admin");

    /// <summary>The default config: routes and policies given as YAML replace the defaults.</summary>
    public static string DefaultRoutes(string upstream) => $$"""
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            timeout: 2s
            authentication: { issuers: [corp], require_token: true, required_scopes: [orders.read] }
            claim_headers: { x-auth-subject: sub, x-auth-scopes: scope }
          - name: forwarding
            match: { path_prefix: /forwarding }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true, forward_authorization: true }
          - name: public
            match: { path_prefix: /public }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
          - name: dead
            match: { path_prefix: /dead }
            upstream: http://127.0.0.1:1
            authentication: { require_token: false }
        """;

    /// <summary>The default config; <paramref name="routes"/> and <paramref name="policies"/> (YAML, indented two spaces) replace the defaults.</summary>
    public static string DefaultConfig(string upstream, string jwksPath, string? routes = null, string? policies = null, string? extra = null) => $$"""
        version: 1
        issuers:
          corp:
            issuer: {{TestIssuerKeys.Issuer}}
            jwks_file: {{jwksPath}}
            audiences: [{{TestIssuerKeys.Audience}}]
            algorithms: [RS256, ES256]
            clock_skew: 30s
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0", include_error_details: true }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
        routes:
        {{routes ?? DefaultRoutes(upstream)}}
        policies:
        {{policies ?? "  {}"}}
        {{extra ?? ""}}
        """;

    public static async Task<GatewayHarness> StartAsync(
        Func<string, string, string>? config = null,
        Microsoft.AspNetCore.Http.RequestDelegate? upstreamBehaviour = null,
        IList<string>? logSink = null,
        IReadOnlyList<Gatehouse.Audit.IAuditSink>? auditSinks = null)
    {
        var directory = Gatehouse.Testing.TestTemp.CreateDirectory("gateway-");
        System.IO.Directory.CreateDirectory(directory);
        var keys = new TestIssuerKeys();
        var upstream = await TestUpstream.StartAsync(upstreamBehaviour);
        var jwksPath = Path.Combine(directory, "jwks.json");
        await File.WriteAllTextAsync(jwksPath, keys.JwksJson());
        var configPath = Path.Combine(directory, "gatehouse.yaml");
        var yaml = (config ?? ((u, j) => DefaultConfig(u, j)))(upstream.Address, jwksPath);
        await File.WriteAllTextAsync(configPath, yaml);

        var load = ConfigLoader.LoadFile(configPath);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            ConfigPath = configPath,
            ReferencedFiles = load.ReferencedFiles,
            WatchInterval = TimeSpan.FromMilliseconds(100),
            AuditSinks = auditSinks ?? [],
            ConfigureLogging = logging =>
            {
                logging.SetMinimumLevel(LogLevel.Debug);
                if (logSink is not null)
                {
                    logging.AddProvider(new ListLoggerProvider(logSink));
                }
            },
        });
        Assert.True(await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(10)), "issuer keys did not load");
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = server.GetListenerUri("edge"),
            Timeout = TimeSpan.FromSeconds(20),
        };
        return new GatewayHarness(directory, keys, upstream, server, client);
    }

    public async Task<HttpResponseMessage> GetAsync(string path, string? token = null, Action<HttpRequestMessage>? configure = null, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }
        configure?.Invoke(request);
        return await Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        await Upstream.DisposeAsync();
        Keys.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Collects formatted log lines (for the no-secrets-in-logs checks).</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly IList<string> _sink;

    public ListLoggerProvider(IList<string> sink) => _sink = sink;

    public ILogger CreateLogger(string categoryName) => new ListLogger(_sink, categoryName);

    public void Dispose()
    {
    }

    private sealed class ListLogger(IList<string> sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (sink)
            {
                sink.Add($"{logLevel} {category} [{eventId.Id}] {formatter(state, exception)} {exception}");
            }
        }
    }
}
