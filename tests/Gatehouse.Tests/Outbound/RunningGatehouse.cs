using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Outbound;

/// <summary>A real in-process Gatehouse started from a YAML file (as <c>gatehouse run</c> does), with its log captured.</summary>
public sealed class RunningGatehouse : IAsyncDisposable
{
    private readonly LogCapture _logs;

    private RunningGatehouse(GatehouseServer server, LogCapture logs, string auditPath)
    {
        Server = server;
        _logs = logs;
        AuditPath = auditPath;
    }

    public GatehouseServer Server { get; }
    public string AuditPath { get; }
    public string Log => _logs.Text;

    public static async Task<RunningGatehouse> StartAsync(string directory, string name, string yaml, bool waitUntilReady = true)
    {
        var auditPath = Path.Combine(directory, name + "-audit.jsonl");
        yaml += $"\naudit: {{ path: {auditPath} }}\n";
        var configPath = Path.Combine(directory, name + ".yaml");
        await File.WriteAllTextAsync(configPath, yaml);
        var loaded = ConfigLoader.LoadFile(configPath);
        Assert.True(loaded.IsValid, string.Join('\n', loaded.Errors) + "\n---\n" + yaml);
        var logs = new LogCapture();
        var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = loaded.Config!,
            ConfigPath = configPath,
            ReferencedFiles = loaded.ReferencedFiles,
            WatchForChanges = false,
            ConfigureLogging = logging =>
            {
                logging.AddProvider(logs);
                logging.SetMinimumLevel(LogLevel.Debug);
                logging.AddFilter("Microsoft", LogLevel.Warning);
                logging.AddFilter("Yarp", LogLevel.Warning);
                logging.AddFilter("System", LogLevel.Warning);
            },
        });
        var running = new RunningGatehouse(server, logs, auditPath);
        if (waitUntilReady && !await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(30)))
        {
            var log = running.Log;
            await running.DisposeAsync();
            Assert.Fail("Gatehouse " + name + " did not become ready:\n" + log);
        }

        return running;
    }

    /// <summary>Sends a request to a listener with the given Host and bearer token.</summary>
    public async Task<HttpResponseMessage> SendAsync(string listener, string host, string path, string? token, string? traceParent = null, HttpMethod? method = null)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, new Uri(Server.GetListenerUri(listener), path));
        request.Headers.Host = host;
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (traceParent is not null)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        }

        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>The audit records written so far.</summary>
    public async Task<IReadOnlyList<JsonElement>> AuditAsync()
    {
        await Server.FlushAuditAsync();
        var records = new List<JsonElement>();
        foreach (var line in await File.ReadAllLinesAsync(AuditPath))
        {
            if (line.Length > 0)
            {
                records.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }

        return records;
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();

    /// <summary>The payload of a JWT (unverified; for assertions on what an upstream received).</summary>
    public static JsonElement Payload(string? authorization)
    {
        Assert.NotNull(authorization);
        Assert.StartsWith("Bearer ", authorization, StringComparison.Ordinal);
        var payload = authorization["Bearer ".Length..].Split('.')[1];
        return JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(payload)).RootElement.Clone();
    }

    private sealed class LogCapture : ILoggerProvider
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

        private sealed class Logger(LogCapture owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._text)
                {
                    if (owner._text.Length < 256 * 1024)
                    {
                        owner._text.Append(logLevel).Append(' ').Append(category).Append(": ").AppendLine(formatter(state, exception));
                    }
                }
            }
        }
    }
}
