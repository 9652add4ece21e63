using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Issue 15's acceptance run with real processes: two <c>gatehouse run</c> processes share one real redis-server
/// (<c>state.backend: redis</c>). A DPoP proof used at the first is refused at the second; a nonce handed out by one
/// is accepted by the other; Redis killed mid-run → DPoP 503 <c>state.unavailable</c> while bearer traffic goes
/// on; Redis back → DPoP works again without restarting either process.
/// </summary>
public sealed class RedisReplicaProcessesTests
{
    private const string Issuer = "https://idp.example.com/";

    [Fact]
    public async Task TwoProcesses_ShareReplayCacheAndNonces_AndSurviveARedisOutage()
    {
        await using var redis = await RedisServer.StartAsync();
        var dir = CliRunner.TempDirectory();
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "keygen", "--out", dir)).ExitCode);
        await using var upstream = await StartUpstreamAsync();
        using var client = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = PublicJwk(client);
        var jkt = B64(SHA256.HashData(Encoding.UTF8.GetBytes($"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{jwk["x"]}\",\"y\":\"{jwk["y"]}\"}}")));
        var bound = await MintAsync(dir, $"{{\"cnf\":{{\"jkt\":\"{jkt}\"}}}}");
        var bearer = await MintAsync(dir, null);

        var prefix = "gh-" + Guid.NewGuid().ToString("N")[..8] + ":";
        var a = await ReplicaAsync(dir, "a", redis, prefix, upstream.Address);
        var b = await ReplicaAsync(dir, "b", redis, prefix, upstream.Address);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(20) };
            async Task<HttpResponseMessage> SendAsync(Replica to, string path, string? proof, string scheme = "DPoP", string? token = null)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, to.Edge + path.TrimStart('/'));
                request.Headers.TryAddWithoutValidation("Authorization", scheme + " " + (token ?? bound));
                if (proof is not null)
                {
                    request.Headers.TryAddWithoutValidation("DPoP", proof);
                }

                return await http.SendAsync(request);
            }

            // Proofs name the deployment's public origin, which both replicas list in dpop.origins.
            string Proof(Replica to, string path, string? nonce = null) => MakeProof(client, jwk, "http://api.shared.example" + path, bound, nonce);
            static string? Reason(HttpResponseMessage r) => r.Headers.TryGetValues("x-gatehouse-reason", out var v) ? v.Single() : null;

            // Replay across processes: a proof accepted by A is replayed at B.
            var proof = Proof(a, "/orders/1", await NonceAsync(SendAsync(a, "/orders/1", Proof(a, "/orders/1"))));
            using (var atA = await SendAsync(a, "/orders/1", proof))
            {
                Assert.Equal(HttpStatusCode.OK, atA.StatusCode);
            }

            using (var atB = await SendAsync(b, "/orders/1", proof))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, atB.StatusCode);
                Assert.Equal("dpop.replayed", Reason(atB));
            }

            // A nonce handed out by A is accepted by B.
            var nonce = await NonceAsync(SendAsync(a, "/orders/2", Proof(b, "/orders/2")));
            using (var atB = await SendAsync(b, "/orders/2", Proof(b, "/orders/2", nonce)))
            {
                Assert.Equal(HttpStatusCode.OK, atB.StatusCode);
            }

            // Redis killed mid-run: DPoP fails closed with 503, bearer traffic goes on, /readyz says so.
            redis.Stop();
            Assert.True(await WaitAsync(async () => (await http.GetStringAsync(b.Admin + "readyz")).Contains("\"state\":{\"backend\":\"redis\",\"healthy\":false}", StringComparison.Ordinal)), "B never saw Redis go");
            using (var down = await SendAsync(b, "/orders/3", Proof(b, "/orders/3", nonce)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
                Assert.Equal("state.unavailable", Reason(down));
            }

            using (var plain = await SendAsync(b, "/orders/3", proof: null, scheme: "Bearer", token: bearer))
            {
                Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            }

            // Redis back (empty: no persistence): both processes reconnect by themselves.
            await redis.RestartAsync();
            Assert.True(await WaitAsync(async () => (await http.GetStringAsync(b.Admin + "readyz")).Contains("\"state\":{\"backend\":\"redis\",\"healthy\":true}", StringComparison.Ordinal)), "B never reconnected");
            var fresh = await NonceAsync(SendAsync(b, "/orders/4", Proof(b, "/orders/4")));
            using (var after = await SendAsync(b, "/orders/4", Proof(b, "/orders/4", fresh)))
            {
                Assert.Equal(HttpStatusCode.OK, after.StatusCode);
            }

            Assert.Contains("gatehouse_state_backend_up{backend=\"redis\"} 1", await http.GetStringAsync(b.Admin + "metrics"), StringComparison.Ordinal);
        }
        finally
        {
            a.Dispose();
            b.Dispose();
        }
    }

    private static async Task<string> NonceAsync(Task<HttpResponseMessage> pending)
    {
        using var response = await pending;
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return response.Headers.GetValues("DPoP-Nonce").Single();
    }

    private sealed class Replica(Process process, Uri edge, Uri admin) : IDisposable
    {
        public Uri Edge { get; } = edge;

        public Uri Admin { get; } = admin;

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }

            process.Dispose();
        }
    }

    private static async Task<Replica> ReplicaAsync(string dir, string name, RedisServer redis, string prefix, string upstream)
    {
        int edge = FreePort(), admin = FreePort();
        var config = Path.Combine(dir, name + ".yaml");
        // Replicas behind one public name: both accept proofs made for it (dpop.origins).
        await File.WriteAllTextAsync(config, $$"""
            version: 1
            issuers:
              corp: { issuer: "{{Issuer}}", jwks_file: {{Path.Combine(dir, "jwks.json")}}, audiences: [orders] }
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:{{edge}}", include_error_details: true, dpop: { nonce: true, origins: ["http://api.shared.example"] } }
              - { name: admin, mode: admin, address: "127.0.0.1:{{admin}}" }
            routes:
              - { name: orders, match: { path_prefix: /orders }, upstream: "{{upstream}}", authentication: { issuers: [corp] } }
            state:
              backend: redis
              redis: { endpoint: "{{redis.Endpoint}}", key_prefix: "{{prefix}}", connect_timeout: 1s }
            """);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "gatehouse.dll"), "run", "-c", config })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var replica = new Replica(process, new Uri($"http://127.0.0.1:{edge}/"), new Uri($"http://127.0.0.1:{admin}/"));
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        if (!await WaitAsync(async () => (await probe.GetAsync(replica.Admin + "readyz")).IsSuccessStatusCode))
        {
            replica.Dispose();
            Assert.Fail($"replica {name} never became ready");
        }

        return replica;
    }

    private static async Task<string> MintAsync(string dir, string? claims)
    {
        var args = new List<string> { "token", "mint", "--key", Path.Combine(dir, "signing-key.pem"), "--iss", Issuer, "--aud", "orders", "--exp", "600" };
        if (claims is not null)
        {
            args.AddRange(["--claims", claims]);
        }

        var run = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), [.. args]);
        Assert.True(run.ExitCode == 0, run.StdErr);
        return run.StdOut.Trim();
    }

    private static Dictionary<string, string> PublicJwk(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        return new Dictionary<string, string> { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = B64(q.X!), ["y"] = B64(q.Y!) };
    }

    // RFC 9449 §4.2: typ, alg and the public jwk in the header; jti, htm, htu, iat, ath (and nonce) in the claims.
    private static string MakeProof(ECDsa key, Dictionary<string, string> jwk, string url, string token, string? nonce)
    {
        var header = JsonSerializer.Serialize(new Dictionary<string, object> { ["typ"] = "dpop+jwt", ["alg"] = "ES256", ["jwk"] = jwk });
        var claims = new Dictionary<string, object>
        {
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["htm"] = "GET",
            ["htu"] = url,
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["ath"] = B64(SHA256.HashData(Encoding.ASCII.GetBytes(token))),
        };
        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        var input = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(JsonSerializer.SerializeToUtf8Bytes(claims));
        return input + "." + B64(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        return false;
    }

    private sealed class Upstream(WebApplication app, string address) : IAsyncDisposable
    {
        public string Address { get; } = address;

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }

    private static async Task<Upstream> StartUpstreamAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync("ok"));
        await app.StartAsync();
        return new Upstream(app, app.Urls.First());
    }
}
