using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// Conformance against a real OpenID provider (panva/oidc-provider, Conformance/oidc-server.mjs): RS256 and ES256
/// JWT access tokens through discovery, opaque tokens through RFC 7662 introspection and RFC 7009 revocation, and a
/// key rotation by restarting the provider with new keys — with no failed request in between.
/// Runs when Conformance/node_modules exists (Conformance/setup.sh installs it); GATEHOUSE_CONFORMANCE=1 makes
/// its absence a failure instead of a skip.
/// </summary>
public sealed class OidcProviderConformanceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gh-oidc-");
    private readonly List<IssuerRuntime> _issuers = [];
    private Process? _node;
    private int _port;
    private string? _scriptDir;

    private string Issuer => $"http://127.0.0.1:{_port}";

    public Task InitializeAsync()
    {
        _scriptDir = FindConformanceDir();
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        _port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var i in _issuers)
        {
            await i.DisposeAsync();
        }

        StopProvider();
        _http.Dispose();
        _dir.Delete(true);
    }

    private bool Available()
    {
        var ok = _scriptDir is not null && Directory.Exists(Path.Combine(_scriptDir, "node_modules", "oidc-provider"));
        if (!ok)
        {
            Assert.False(Environment.GetEnvironmentVariable("GATEHOUSE_CONFORMANCE") == "1", "oidc-provider is not installed: run tests/Gatehouse.Core.Tests/Tokens/Conformance/setup.sh");
            output.WriteLine("SKIPPED: oidc-provider not installed (run Conformance/setup.sh)");
        }

        return ok;
    }

    private static string? FindConformanceDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "tests", "Gatehouse.Core.Tests", "Tokens", "Conformance");
            if (File.Exists(Path.Combine(candidate, "oidc-server.mjs")))
            {
                return candidate;
            }
        }

        return null;
    }

    private async Task StartProviderAsync(string rsaKid, string ecKid)
    {
        var keysFile = Path.Combine(_dir.FullName, $"jwks-{rsaKid}.json");
        await File.WriteAllTextAsync(keysFile, PrivateJwks(rsaKid, ecKid));
        var psi = new ProcessStartInfo("node", Path.Combine(_scriptDir!, "oidc-server.mjs"))
        {
            WorkingDirectory = _scriptDir!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["KEYS"] = keysFile;
        _node = Process.Start(psi)!;
        _node.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output.WriteLine("node: " + e.Data); } };
        _node.BeginErrorReadLine();
        var ready = await _node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("ready", ready, StringComparison.Ordinal);
    }

    private void StopProvider()
    {
        if (_node is { HasExited: false })
        {
            _node.Kill();
            _node.WaitForExit(10_000);
        }

        _node?.Dispose();
        _node = null;
    }

    private static string PrivateJwks(string rsaKid, string ecKid)
    {
        static string B(byte[] b) => TestKey.B64(b);
        using var rsa = RSA.Create(2048);
        var r = rsa.ExportParameters(true);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var e = ec.ExportParameters(true);
        return new JsonObject
        {
            ["keys"] = new JsonArray(
                new JsonObject { ["kty"] = "RSA", ["kid"] = rsaKid, ["use"] = "sig", ["alg"] = "RS256", ["n"] = B(r.Modulus!), ["e"] = B(r.Exponent!), ["d"] = B(r.D!), ["p"] = B(r.P!), ["q"] = B(r.Q!), ["dp"] = B(r.DP!), ["dq"] = B(r.DQ!), ["qi"] = B(r.InverseQ!) },
                new JsonObject { ["kty"] = "EC", ["kid"] = ecKid, ["use"] = "sig", ["alg"] = "ES256", ["crv"] = "P-256", ["x"] = B(e.Q.X!), ["y"] = B(e.Q.Y!), ["d"] = B(e.D!) }),
        }.ToJsonString();
    }

    private async Task<string> TokenAsync(string resource)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "read", ["resource"] = resource }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("workload:workload-secret"u8.ToArray()));
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    private async Task<IssuerRuntime> IssuerAsync(IReadOnlyList<string> audiences, string name = "op")
    {
        var secretFile = Path.Combine(_dir.FullName, "introspection-secret");
        await File.WriteAllTextAsync(secretFile, "gatehouse secret:+%\n");
        var issuer = new IssuerRuntime(new IssuerConfig
        {
            Name = name,
            Issuer = Issuer,
            Discovery = true,
            Audiences = audiences,
            Algorithms = ["RS256", "ES256"],
            RequireType = "at+jwt",
            Keys = new KeyRefreshConfig { MinRefreshInterval = TimeSpan.FromMilliseconds(1), MaxStale = TimeSpan.FromMinutes(10) },
            Introspection = new IntrospectionConfig { Endpoint = Issuer + "/token/introspection", ClientId = "gatehouse", ClientSecretFile = secretFile, CacheTtl = TimeSpan.FromMilliseconds(500), NegativeCacheTtl = TimeSpan.FromMilliseconds(1) },
        }, _http, TimeProvider.System, NullLoggerFactory.Instance);
        _issuers.Add(issuer);
        await issuer.StartAsync(CancellationToken.None);
        return issuer;
    }

    private static TokenAuthenticator NewAuthenticator() => new(TimeProvider.System, NullLoggerFactory.Instance);

    [Fact]
    public async Task RealProvider_JwtAndOpaque_ThenKeyRotationWithoutFailedRequest()
    {
        if (!Available())
        {
            return;
        }

        await StartProviderAsync("rs-1", "ec-1");
        var issuer = await IssuerAsync(["https://api.example.test", "https://api-es.example.test", "https://api-opaque.example.test"]);
        Assert.True(issuer.KeysLoaded, issuer.KeyState.LastFailure);
        Assert.Equal(2, issuer.KeyState.KeyCount);
        var auth = NewAuthenticator();

        // JWT access tokens (RFC 9068) signed RS256 and ES256.
        var rs = await TokenAsync("https://api.example.test");
        var rsResult = await auth.AuthenticateAsync(rs, [issuer], default);
        Assert.True(rsResult.Succeeded, rsResult.ToString());
        Assert.Equal("rs-1", rsResult.Token!.Facts.Kid);
        var es = await TokenAsync("https://api-es.example.test");
        var esResult = await auth.AuthenticateAsync(es, [issuer], default);
        Assert.True(esResult.Succeeded, esResult.ToString());
        Assert.Equal("ES256", esResult.Token!.Facts.Algorithm);

        // The same token for another resource: wrong audience.
        var other = await IssuerAsync(["https://orders.example.test"], "other");
        Assert.Equal(ReasonCodes.TokenAudienceMismatch, (await auth.AuthenticateAsync(rs, [other], default)).Reason);

        // Opaque token through RFC 7662 (client_secret_basic with a secret that needs form-urlencoding).
        var opaque = await TokenAsync("https://api-opaque.example.test");
        var opaqueResult = await auth.AuthenticateAsync(opaque, [issuer], default);
        Assert.True(opaqueResult.Succeeded, opaqueResult.ToString());
        Assert.Equal("opaque", opaqueResult.Token!.Facts.Kind);

        // RFC 7009 revocation is honoured once the positive cache entry (500 ms) lapses.
        using (var revoke = new HttpRequestMessage(HttpMethod.Post, Issuer + "/token/revocation") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = opaque }) })
        {
            revoke.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("workload:workload-secret"u8.ToArray()));
            (await _http.SendAsync(revoke)).EnsureSuccessStatusCode();
        }

        await Task.Delay(600);
        Assert.Equal(ReasonCodes.TokenInactive, (await auth.AuthenticateAsync(opaque, [issuer], default)).Reason);

        // Rotation: restart the provider with new keys. While it is down, last-good keys keep serving (fresh
        // authenticators, so no verified-cache hit hides a key lookup); afterwards a token signed by the new key
        // passes on its first request.
        StopProvider();
        var during = new List<TokenResult>();
        for (var i = 0; i < 5; i++)
        {
            during.Add(await NewAuthenticator().AuthenticateAsync(rs, [issuer], default));
        }

        await StartProviderAsync("rs-2", "ec-2");
        for (var i = 0; i < 5; i++)
        {
            during.Add(await NewAuthenticator().AuthenticateAsync(es, [issuer], default));
        }

        Assert.All(during, r => Assert.True(r.Succeeded, r.ToString()));
        var rotated = await TokenAsync("https://api.example.test");
        var rotatedResult = await NewAuthenticator().AuthenticateAsync(rotated, [issuer], default);
        Assert.True(rotatedResult.Succeeded, rotatedResult.ToString());
        Assert.Equal("rs-2", rotatedResult.Token!.Facts.Kid);

        // The old key left the JWKS with the re-fetch: tokens signed by it no longer validate.
        Assert.Equal(ReasonCodes.TokenKeyUnknown, (await auth.AuthenticateAsync(rs, [issuer], default)).Reason);
    }
}
