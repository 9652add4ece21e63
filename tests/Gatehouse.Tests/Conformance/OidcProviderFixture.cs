using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Tests.Conformance;

/// <summary>How <see cref="OidcProviderFixture.RestartWithNewKeysAsync"/> rotates the provider's signing keys.</summary>
public enum KeyRotation
{
    /// <summary>The peers README procedure: fresh key pairs under the same kids (<c>rs-1</c>, <c>ec-1</c>).</summary>
    SameKids,
    /// <summary>Fresh key pairs under new kids; the previous keys leave the JWKS.</summary>
    NewKids,
    /// <summary>Fresh key pairs under new kids sign; the previous public keys stay published (overlap rotation).</summary>
    NewKidsKeepPrevious,
}

/// <summary>The provider's current signing keys (PEM and JWKS files in a temp folder).</summary>
public sealed record ProviderKeys(string Directory, string RsKid, string EcKid)
{
    public string RsPrivateKeyPem => Path.Combine(Directory, "rs256.key.pem");
    public string EcPrivateKeyPem => Path.Combine(Directory, "es256.key.pem");
    public string RsPublicKeyPem => Path.Combine(Directory, "rs256.pub.pem");
    public string PrivateJwks => Path.Combine(Directory, "jwks.private.json");
}

/// <summary>
/// A real OpenID provider (panva/oidc-provider 9.13.3, pinned in tests/conformance/package.json) on 127.0.0.1 and a
/// free port, with freshly generated keys. Shared by every test of the <see cref="ConformanceCollection"/>; the
/// collection runs its tests one at a time, so a key rotation never races another test.
/// </summary>
public sealed class OidcProviderFixture : IAsyncLifetime
{
    public const string ApiResource = "https://api.example.test";
    public const string ApiEsResource = "https://api-es.example.test";
    public const string OpaqueResource = "https://api-opaque.example.test";
    public const string IntrospectionClientId = "rs-introspector";
    public const string IntrospectionClientSecret = "rs-secret";
    /// <summary>Registered with <c>client_secret_post</c> (same secret), to test that authentication method.</summary>
    public const string IntrospectionPostClientId = "rs-introspector-post";
    private const string ClientId = "bench-client";
    private const string ClientSecret = "bench-secret";

    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(10);

    private readonly string _root = Gatehouse.Testing.TestTemp.CreateDirectory("conformance-");
    private HttpClient _http = NewHttpClient();
    private readonly StringBuilder _log = new();
    private Process? _process;
    private int _generation;

    public int Port { get; private set; }

    /// <summary>The provider's issuer identifier, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public string Issuer => $"http://127.0.0.1:{Port}";

    public string IntrospectionEndpoint => Issuer + "/token/introspection";

    public ProviderKeys Keys { get; private set; } = new("", "rs-1", "ec-1");

    /// <summary>The provider's stdout/stderr so far (bounded), for failure messages.</summary>
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

    public async Task InitializeAsync()
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await NodeTooling.EnsureInstalledAsync(cancellation.Token);
        Directory.CreateDirectory(_root);
        Keys = await GenerateKeysAsync("rs-1", "ec-1", alsoPublish: null, cancellation.Token);

        // Note: a free port is picked by binding port 0 and releasing it; another process may take it before node
        // binds, so EADDRINUSE picks another one (bounded).
        for (var attempt = 1; ; attempt++)
        {
            Port = PickFreePort();
            var started = await StartProcessAsync(cancellation.Token);
            if (started)
            {
                break;
            }
            if (attempt == 5)
            {
                throw new InvalidOperationException($"oidc-provider could not bind a free port after {attempt} attempts.\n{Log}");
            }
        }
    }

    /// <summary>client_credentials (bench-client, client_secret_basic) with an RFC 8707 resource indicator.</summary>
    public async Task<string> GetTokenAsync(string resource, string scope)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["scope"] = scope,
                ["resource"] = resource,
            }),
        };
        request.Headers.Authorization = BasicAuth(ClientId, ClientSecret);
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"token endpoint answered {(int)response.StatusCode}: {body}");
        }
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()
            ?? throw new InvalidOperationException("token response without access_token: " + body);
    }

    /// <summary>RFC 7009 revocation by the client the token was issued to.</summary>
    public async Task RevokeAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/token/revocation")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = BasicAuth(ClientId, ClientSecret);
        using var response = await _http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"revocation endpoint answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>RFC 7662 introspection as the resource server would do it (to check the provider's own view).</summary>
    public async Task<JsonDocument> IntrospectAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, IntrospectionEndpoint)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = BasicAuth(IntrospectionClientId, IntrospectionClientSecret);
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"introspection endpoint answered {(int)response.StatusCode}: {body}");
        }
        return JsonDocument.Parse(body);
    }

    /// <summary>
    /// Stops the provider, generates new keys and starts it again on the same port (same issuer). Tokens issued
    /// before are forgotten by the provider (in-memory adapter) but JWTs stay verifiable with the old public keys.
    /// </summary>
    /// <param name="rotation">Which kids the new keys get and whether the previous keys stay published.</param>
    /// <param name="whileStopped">Runs after the provider stopped and before it starts again (the outage window).</param>
    public async Task<ProviderKeys> RestartWithNewKeysAsync(KeyRotation rotation = KeyRotation.SameKids, Func<Task>? whileStopped = null)
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var generation = Interlocked.Increment(ref _generation) + 1;
        var (rsKid, ecKid) = rotation == KeyRotation.SameKids ? (Keys.RsKid, Keys.EcKid) : ($"rs-{generation}", $"ec-{generation}");
        var previous = Keys;
        var next = await GenerateKeysAsync(rsKid, ecKid, rotation == KeyRotation.NewKidsKeepPrevious ? previous.PrivateJwks : null, cancellation.Token);

        await StopProcessAsync();
        // Note: pooled connections to the old process are dead; start afresh rather than rely on retry rules.
        var stale = Interlocked.Exchange(ref _http, NewHttpClient());
        stale.Dispose();
        Keys = next;
        Exception? callbackFailure = null;
        if (whileStopped is not null)
        {
            try
            {
                await whileStopped();
            }
            catch (Exception e)
            {
                // Note: the provider must come back for the other tests whatever the callback did.
                callbackFailure = e;
            }
        }
        // Note: the issuer (and so the port) must not change. Node sets SO_REUSEADDR, so the port is free again at
        // once unless another process took it in the meantime: retry a few times, then fail loudly.
        for (var attempt = 1; ; attempt++)
        {
            if (await StartProcessAsync(cancellation.Token))
            {
                if (callbackFailure is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(callbackFailure);
                }
                return next;
            }
            if (attempt == 10)
            {
                throw new InvalidOperationException($"oidc-provider could not re-bind port {Port} after a restart.\n{Log}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellation.Token);
        }
    }

    public async Task DisposeAsync()
    {
        await StopProcessAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Note: a leftover temp folder is harmless; never fail a run on cleanup.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task<ProviderKeys> GenerateKeysAsync(string rsKid, string ecKid, string? alsoPublish, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(_root, $"keys-{Guid.NewGuid():N}"[..17]);
        var arguments = new List<string> { "gen-keys.mjs", directory, "--rs-kid", rsKid, "--ec-kid", ecKid };
        if (alsoPublish is not null)
        {
            arguments.AddRange(["--also-publish", alsoPublish]);
        }
        var result = await NodeTooling.RunAsync("node", arguments, NodeTooling.ToolingDirectory, TimeSpan.FromSeconds(60), cancellationToken, NodeTooling.MissingNodeMessage);
        if (result.ExitCode != 0 || !File.Exists(Path.Combine(directory, "jwks.private.json")))
        {
            throw new InvalidOperationException($"gen-keys.mjs failed (exit {result.ExitCode}): {result.Output}");
        }
        return new ProviderKeys(directory, rsKid, ecKid);
    }

    /// <summary>Starts node; true once discovery answers, false when the port was taken (EADDRINUSE).</summary>
    private async Task<bool> StartProcessAsync(CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("node")
        {
            WorkingDirectory = NodeTooling.ToolingDirectory,
            RedirectStandardInput = true, // the orphan guard in oidc-server.mjs exits when this pipe closes
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("oidc-server.mjs");
        startInfo.Environment["HOST"] = "127.0.0.1";
        startInfo.Environment["PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        startInfo.Environment["KEYS"] = Keys.PrivateJwks;
        startInfo.Environment["EXIT_ON_STDIN_CLOSE"] = "1";
        startInfo.Environment.Remove("ISSUER");

        var addressInUse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Process process;
        try
        {
            process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => OnOutput(e.Data, addressInUse);
            process.ErrorDataReceived += (_, e) => OnOutput(e.Data, addressInUse);
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"could not start node: {e.Message}. {NodeTooling.MissingNodeMessage}", e);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < s_startTimeout)
        {
            if (addressInUse.Task.IsCompleted)
            {
                await StopProcessAsync();
                return false;
            }
            if (process.HasExited)
            {
                throw new InvalidOperationException($"oidc-provider exited with code {process.ExitCode} while starting.\n{Log}");
            }
            if (await DiscoveryAnswersAsync(cancellationToken))
            {
                return true;
            }
            await Task.Delay(100, cancellationToken);
        }
        await StopProcessAsync();
        throw new TimeoutException($"oidc-provider did not answer discovery on {Issuer} within {s_startTimeout}.\n{Log}");
    }

    private async Task<bool> DiscoveryAnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var response = await _http.GetAsync(Issuer + "/.well-known/openid-configuration", timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token));
            return json.RootElement.GetProperty("issuer").GetString() == Issuer;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private void OnOutput(string? line, TaskCompletionSource addressInUse)
    {
        if (line is null)
        {
            return;
        }
        if (line.StartsWith("FAILED EADDRINUSE", StringComparison.Ordinal))
        {
            addressInUse.TrySetResult();
        }
        lock (_log)
        {
            if (_log.Length < 64 * 1024)
            {
                _log.AppendLine(line);
            }
        }
    }

    private async Task StopProcessAsync()
    {
        var process = Interlocked.Exchange(ref _process, null);
        if (process is null)
        {
            return;
        }
        using (process)
        {
            try
            {
                if (!process.HasExited)
                {
                    // Note: node runs no children here; killing the tree also covers anything a future version spawns.
                    process.Kill(entireProcessTree: true);
                }
                using var timeout = new CancellationTokenSource(s_stopTimeout);
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (InvalidOperationException)
            {
                // Note: the process already exited between the checks.
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"oidc-provider (pid {process.Id}) did not exit within {s_stopTimeout} after SIGKILL.");
            }
        }
    }

    private static HttpClient NewHttpClient() =>
        new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
        {
            Timeout = TimeSpan.FromSeconds(15),
        };

    private static int PickFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static AuthenticationHeaderValue BasicAuth(string id, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));
}

/// <summary>Every conformance test class shares one provider and runs sequentially.</summary>
[CollectionDefinition(Name)]
public sealed class ConformanceCollection : ICollectionFixture<OidcProviderFixture>
{
    public const string Name = "Conformance (real oidc-provider)";
}
