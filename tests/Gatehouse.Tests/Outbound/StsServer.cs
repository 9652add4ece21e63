using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Tests.Conformance;

namespace Gatehouse.Tests.Outbound;

/// <summary>Client registration at the STS (<c>sts-server.mjs</c> config <c>clients[]</c>).</summary>
public sealed record StsClient(string ClientId, string AuthMethod)
{
    public string? Secret { get; init; }
    public string Scope { get; init; } = "";
    /// <summary>RFC 8705 §2.1.2 <c>tls_client_auth_san_uri</c> (a SPIFFE ID).</summary>
    public string? SanUri { get; init; }
    /// <summary>The public JWKS of the client's private_key_jwt key.</summary>
    public JsonObject? Jwks { get; init; }
    /// <summary>Audiences the client may exchange tokens for (RFC 8693).</summary>
    public IReadOnlyList<string> ExchangeAudiences { get; init; } = [];
}

/// <summary>What the STS is started with.</summary>
public sealed record StsOptions
{
    /// <summary>Resource indicator → (aud claim, scope).</summary>
    public IReadOnlyDictionary<string, (string Audience, string Scope)> Resources { get; init; } = new Dictionary<string, (string, string)>();
    public IReadOnlyList<StsClient> Clients { get; init; } = [];
    /// <summary>Other issuers whose JWTs are accepted as subject tokens: (issuer, jwks_uri).</summary>
    public IReadOnlyList<(string Issuer, string JwksUri)> SubjectIssuers { get; init; } = [];
    /// <summary>HTTPS listener (tls_client_auth): server certificate, key, and the CA bundle client certificates must chain to.</summary>
    public (string Certificate, string Key, string ClientCa)? Tls { get; init; }
    public int ExchangeTtlSeconds { get; init; } = 300;
}

/// <summary>
/// A real OAuth 2.0 authorization server with an RFC 8693 token-exchange grant (tests/conformance/sts-server.mjs:
/// panva/oidc-provider with <c>registerGrantType</c>), on 127.0.0.1 and free ports, with fresh keys. Can be stopped
/// and started again on the same ports (an STS outage).
/// </summary>
public sealed class StsServer : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private readonly string _root;
    private readonly StsOptions _options;
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private Process? _process;

    private StsServer(string root, StsOptions options, ProviderKeys keys)
    {
        _root = root;
        _options = options;
        Keys = keys;
    }

    public int Port { get; private set; }
    public int TlsPort { get; private set; }
    public string Issuer => $"http://127.0.0.1:{Port}";
    public string TokenEndpoint => Issuer + "/token";
    /// <summary>The HTTPS token endpoint (host name <c>localhost</c>, as in the server certificate).</summary>
    public string TlsTokenEndpoint => $"https://localhost:{TlsPort}/token";
    public ProviderKeys Keys { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<StsServer> StartAsync(StsOptions options)
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await NodeTooling.EnsureInstalledAsync(cancellation.Token);
        var root = Gatehouse.Testing.TestTemp.CreateDirectory("sts-");
        Directory.CreateDirectory(root);
        var keysDir = Path.Combine(root, "keys");
        var gen = await NodeTooling.RunAsync("node", ["gen-keys.mjs", keysDir], NodeTooling.ToolingDirectory, TimeSpan.FromSeconds(60), cancellation.Token, NodeTooling.MissingNodeMessage);
        if (gen.ExitCode != 0)
        {
            throw new InvalidOperationException("gen-keys.mjs failed: " + gen.Output);
        }

        var sts = new StsServer(root, options, new ProviderKeys(keysDir, "rs-1", "ec-1"));
        for (var attempt = 1; ; attempt++)
        {
            sts.Port = PickFreePort();
            sts.TlsPort = options.Tls is null ? 0 : PickFreePort();
            if (await sts.StartProcessAsync(cancellation.Token))
            {
                return sts;
            }

            if (attempt == 5)
            {
                throw new InvalidOperationException("sts-server.mjs could not bind free ports.\n" + sts.Log);
            }
        }
    }

    /// <summary>Stops the process (an outage); <see cref="RestartAsync"/> brings it back on the same ports.</summary>
    public async Task StopAsync()
    {
        var process = Interlocked.Exchange(ref _process, null);
        if (process is null)
        {
            return;
        }

        using (process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
        }
    }

    public async Task RestartAsync()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            if (await StartProcessAsync(cancellation.Token))
            {
                return;
            }

            await Task.Delay(200 * attempt, cancellation.Token);
        }

        throw new InvalidOperationException($"sts-server.mjs could not re-bind port {Port}.\n{Log}");
    }

    /// <summary>client_credentials with client_secret_basic, as a test helper (the subject of exchanges).</summary>
    public async Task<string> ClientCredentialsAsync(string clientId, string secret, string? resource, string? scope)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        if (resource is not null)
        {
            form["resource"] = resource;
        }

        if (scope is not null)
        {
            form["scope"] = scope;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{clientId}:{secret}")));
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>Signs a user access token with this server's RS256 key (what its authorization endpoint would issue).</summary>
    public string MintUserToken(string subject, string audience, string scope, TimeSpan lifetime, IReadOnlyDictionary<string, object>? extra = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = audience,
            ["scope"] = scope,
            ["client_id"] = "web",
            ["iat"] = now,
            ["exp"] = now + (long)lifetime.TotalSeconds,
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, object>())
        {
            claims[key] = value;
        }

        return TestJwt.SignRs256(Keys, claims);
    }

    private string WriteConfig()
    {
        var resources = new JsonObject();
        foreach (var (indicator, (audience, scope)) in _options.Resources)
        {
            resources[indicator] = new JsonObject { ["audience"] = audience, ["scope"] = scope };
        }

        var clients = new JsonArray();
        foreach (var c in _options.Clients)
        {
            var client = new JsonObject
            {
                ["client_id"] = c.ClientId,
                ["token_endpoint_auth_method"] = c.AuthMethod,
                ["scope"] = c.Scope,
                ["exchange"] = new JsonObject { ["audiences"] = new JsonArray([.. c.ExchangeAudiences.Select(a => (JsonNode)JsonValue.Create(a)!)]) },
            };
            if (c.Secret is not null)
            {
                client["client_secret"] = c.Secret;
            }

            if (c.SanUri is not null)
            {
                client["tls_client_auth_san_uri"] = c.SanUri;
            }

            if (c.Jwks is not null)
            {
                client["jwks"] = c.Jwks.DeepClone();
            }

            clients.Add(client);
        }

        var config = new JsonObject
        {
            ["host"] = "127.0.0.1",
            ["port"] = Port,
            ["issuer"] = Issuer,
            ["keys"] = Keys.PrivateJwks,
            ["resources"] = resources,
            ["clients"] = clients,
            ["exchangeTtl"] = _options.ExchangeTtlSeconds,
            ["subjectIssuers"] = new JsonArray([.. _options.SubjectIssuers.Select(s => (JsonNode)new JsonObject { ["issuer"] = s.Issuer, ["jwksUri"] = s.JwksUri })]),
        };
        if (_options.Tls is { } tls)
        {
            config["tls"] = new JsonObject { ["port"] = TlsPort, ["cert"] = tls.Certificate, ["key"] = tls.Key, ["clientCa"] = tls.ClientCa };
        }

        var path = Path.Combine(_root, "sts.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    private async Task<bool> StartProcessAsync(CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("node")
        {
            WorkingDirectory = NodeTooling.ToolingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("sts-server.mjs");
        startInfo.Environment["CONFIG"] = WriteConfig();
        startInfo.Environment["EXIT_ON_STDIN_CLOSE"] = "1";
        var addressInUse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tlsUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            if (e.Data.StartsWith("FAILED EADDRINUSE", StringComparison.Ordinal))
            {
                addressInUse.TrySetResult();
            }

            if (e.Data.StartsWith("LISTENING-TLS", StringComparison.Ordinal))
            {
                tlsUp.TrySetResult();
            }

            lock (_log)
            {
                if (_log.Length < 64 * 1024)
                {
                    _log.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += onLine;
        process.ErrorDataReceived += onLine;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < s_startTimeout)
        {
            if (addressInUse.Task.IsCompleted)
            {
                await StopAsync();
                return false;
            }

            if (process.HasExited)
            {
                throw new InvalidOperationException($"sts-server.mjs exited with code {process.ExitCode}.\n{Log}");
            }

            if ((_options.Tls is null || tlsUp.Task.IsCompleted) && await DiscoveryAnswersAsync(cancellationToken))
            {
                return true;
            }

            await Task.Delay(100, cancellationToken);
        }

        await StopAsync();
        throw new TimeoutException($"sts-server.mjs did not answer on {Issuer} within {s_startTimeout}.\n{Log}");
    }

    private async Task<bool> DiscoveryAnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(Issuer + "/.well-known/openid-configuration", cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static int PickFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
