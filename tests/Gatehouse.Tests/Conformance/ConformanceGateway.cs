using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Conformance;

/// <summary>Knobs of the gateway config the conformance tests vary.</summary>
public sealed record GatewaySettings
{
    /// <summary>Accepted audiences of the issuer <c>idp</c>.</summary>
    public IReadOnlyList<string> Audiences { get; init; } =
        [OidcProviderFixture.ApiResource, OidcProviderFixture.ApiEsResource, OidcProviderFixture.OpaqueResource];

    /// <summary><c>issuers.idp.introspection.cache_ttl</c>.</summary>
    public string IntrospectionCacheTtl { get; init; } = "1s";

    /// <summary><c>issuers.idp.introspection.auth_method</c>: client_secret_basic (as rs-introspector) or
    /// client_secret_post (as rs-introspector-post).</summary>
    public string IntrospectionAuthMethod { get; init; } = "client_secret_basic";

    /// <summary><c>issuers.idp.keys.min_refresh_interval</c>; 0s so a rotation test never waits for the rate limit.</summary>
    public string MinRefreshInterval { get; init; } = "0s";

    /// <summary><c>listeners[edge].include_error_details</c>: reason details (e.g. which DPoP check failed) in x-gatehouse-reason.</summary>
    public bool IncludeErrorDetails { get; init; }
}

/// <summary>
/// A real Gatehouse (in-process <see cref="GatehouseServer"/>, config loaded from a YAML file by
/// <see cref="ConfigLoader"/>) in front of a real <see cref="EchoUpstream"/>, trusting the real provider.
/// Routes: <c>/api</c> needs scope <c>read</c> (<c>required_scopes</c>); <c>/policy</c> needs it through an allow
/// policy. Listeners <c>edge</c> (gateway) and <c>admin</c>, both on 127.0.0.1:0.
/// </summary>
public sealed class ConformanceGateway : IAsyncDisposable
{
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(30);

    private readonly GatehouseServer _server;
    private readonly string _directory;
    private readonly CapturingLoggerProvider _logs;

    private ConformanceGateway(GatehouseServer server, EchoUpstream upstream, HttpClient client, string directory, string yaml, CapturingLoggerProvider logs)
    {
        _server = server;
        Upstream = upstream;
        Client = client;
        _directory = directory;
        Yaml = yaml;
        _logs = logs;
    }

    public EchoUpstream Upstream { get; }

    /// <summary>An HTTP client whose base address is the <c>edge</c> listener.</summary>
    public HttpClient Client { get; }

    public Uri EdgeAddress => _server.GetListenerUri("edge");

    public Uri AdminAddress => _server.GetListenerUri("admin");

    public string Yaml { get; }

    /// <summary>What Gatehouse logged (bounded), for failure messages.</summary>
    public string Log => _logs.Text;

    public static async Task<ConformanceGateway> StartAsync(OidcProviderFixture idp, GatewaySettings? settings = null, bool waitUntilReady = true)
    {
        settings ??= new GatewaySettings();
        var directory = Gatehouse.Testing.TestTemp.CreateDirectory("conformance-gw-");
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "rs-secret.txt"), OidcProviderFixture.IntrospectionClientSecret);

        var upstream = await EchoUpstream.StartAsync();
        var yaml = BuildYaml(idp, settings, upstream.Address);
        var configPath = Path.Combine(directory, "gatehouse.yaml");
        await File.WriteAllTextAsync(configPath, yaml);

        var loaded = ConfigLoader.LoadFile(configPath);
        if (!loaded.IsValid || loaded.Config is null)
        {
            await upstream.DisposeAsync();
            throw new InvalidOperationException(
                "the conformance gateway config is invalid:\n" + string.Join('\n', loaded.Errors.Select(e => e.ToString())) + "\n---\n" + yaml);
        }

        var logs = new CapturingLoggerProvider();
        var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = loaded.Config,
            ConfigPath = configPath,
            ReferencedFiles = loaded.ReferencedFiles,
            WatchForChanges = false,
            ConfigureLogging = logging =>
            {
                logging.AddProvider(logs);
                logging.SetMinimumLevel(LogLevel.Information);
                logging.AddFilter("Microsoft", LogLevel.Warning);
                logging.AddFilter("Yarp", LogLevel.Warning);
            },
        });

        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = server.GetListenerUri("edge"),
            Timeout = TimeSpan.FromSeconds(20),
        };
        var gateway = new ConformanceGateway(server, upstream, client, directory, yaml, logs);
        if (waitUntilReady && !await server.WaitUntilReadyAsync(s_readyTimeout))
        {
            var log = gateway.Log;
            await gateway.DisposeAsync();
            throw new InvalidOperationException($"Gatehouse did not become ready (keys of issuer idp from {idp.Issuer}) within {s_readyTimeout}.\nGatehouse log:\n{log}");
        }
        return gateway;
    }

    /// <summary>GET <paramref name="path"/> on the edge listener with an optional bearer token.</summary>
    public async Task<HttpResponseMessage> GetAsync(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await Client.SendAsync(request);
    }

    /// <summary>A readable account of a response plus the gateway's log, for assertion messages.</summary>
    public async Task<string> DescribeAsync(HttpResponseMessage response)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode}");
        foreach (var header in response.Headers)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n{header.Key}: {string.Join(", ", header.Value)}");
        }
        text.Append("\n\n").Append(await response.Content.ReadAsStringAsync());
        text.Append("\n--- Gatehouse log (tail) ---\n").Append(Tail(Log, 6000));
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _server.DisposeAsync();
        await Upstream.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal static string Tail(string text, int length) => text.Length <= length ? text : "…" + text[^length..];

    private static string BuildYaml(OidcProviderFixture idp, GatewaySettings settings, Uri upstream)
    {
        var audiences = string.Join(", ", settings.Audiences);
        var upstreamUrl = upstream.GetLeftPart(UriPartial.Authority);
        var introspectionClientId = settings.IntrospectionAuthMethod == "client_secret_post"
            ? OidcProviderFixture.IntrospectionPostClientId
            : OidcProviderFixture.IntrospectionClientId;
        return $$"""
            # Written by tests/Gatehouse.Tests/Conformance/ConformanceGateway.cs
            version: 1
            issuers:
              idp:
                issuer: {{idp.Issuer}}
                discovery: true
                audiences: [{{audiences}}]
                algorithms: [RS256, ES256]
                keys:
                  min_refresh_interval: {{settings.MinRefreshInterval}}
                  fetch_timeout: 5s
                introspection:
                  endpoint: {{idp.IntrospectionEndpoint}}
                  client_id: {{introspectionClientId}}
                  client_secret_file: rs-secret.txt
                  auth_method: {{settings.IntrospectionAuthMethod}}
                  cache_ttl: {{settings.IntrospectionCacheTtl}}
                  negative_cache_ttl: 1s
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0", include_error_details: {{(settings.IncludeErrorDetails ? "true" : "false")}} }
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
            routes:
              - name: api
                match: { path_prefix: /api }
                upstream: {{upstreamUrl}}
                authentication:
                  issuers: [idp]
                  require_token: true
                  required_scopes: [read]
              - name: policy
                match: { path_prefix: /policy }
                upstream: {{upstreamUrl}}
                authentication: { issuers: [idp], require_token: true }
                policies: [needs-read]
            policies:
              needs-read:
                action: allow
                rules:
                  - when: { scopes: [read] }
            """;
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private void Append(string line)
        {
            lock (_text)
            {
                if (_text.Length > 256 * 1024)
                {
                    _text.Remove(0, 128 * 1024);
                }
                _text.AppendLine(line);
            }
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}";
                owner.Append(exception is null ? line : line + " | " + exception.GetType().Name + ": " + exception.Message);
            }
        }
    }
}
