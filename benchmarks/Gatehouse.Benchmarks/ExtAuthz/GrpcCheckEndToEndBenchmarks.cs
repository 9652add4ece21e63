using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Gatehouse.Configuration;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Hosting;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Benchmarks.ExtAuthz;

/// <summary>
/// Issue #7: ext_authz gRPC <c>Check</c> calls per second end to end — a real Gatehouse (Kestrel HTTP/2 h2c on
/// 127.0.0.1) answering real gRPC calls from 32 concurrent callers over HTTP/2, as Envoy sends them (one verified
/// token, the decision cache on as configured by default). The reciprocal of the per-operation mean is Check calls per
/// second of the whole process on this machine, with the client sharing the same cores.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class GrpcCheckEndToEndBenchmarks
{
    private const int Calls = 2000;
    private const int Callers = 32;
    private GatehouseServer _server = null!;
    private HttpClient _client = null!;
    private byte[] _frame = null!;
    private Uri _check = null!;
    private string _directory = "";

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("gatehouse-bench-grpc-").FullName;
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        File.WriteAllText(Path.Combine(_directory, "jwks.json"), JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "RSA", kid = "rs-1", use = "sig", alg = "RS256", n = B64(p.Modulus!), e = B64(p.Exponent!) } },
        }));
        var config = Path.Combine(_directory, "gatehouse.yaml");
        File.WriteAllText(config, """
            version: 1
            issuers:
              idp: { issuer: "http://127.0.0.1:4000", jwks_file: jwks.json, audiences: [https://api.example.test], algorithms: [RS256] }
            listeners:
              - { name: authz, mode: ext_authz_grpc, address: "127.0.0.1:0" }
            routes:
              - name: app
                match: { path_prefix: / }
                authentication: { issuers: [idp], required_scopes: [read] }
                claim_headers: { x-auth-client: client_id }
            """);
        var load = ConfigLoader.LoadFile(config);
        if (!load.IsValid)
        {
            throw new InvalidOperationException(string.Join("; ", load.Errors));
        }
        _server = GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            WatchForChanges = false,
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Error),
        }).GetAwaiter().GetResult();
        if (!_server.WaitUntilReadyAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult())
        {
            throw new InvalidOperationException("keys never loaded");
        }

        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/42", Host = "orders.shop.svc.cluster.local", Scheme = "http" };
        http.Headers[":authority"] = http.Host;
        http.Headers[":method"] = "GET";
        http.Headers[":path"] = http.Path;
        http.Headers["authorization"] = "Bearer " + DecisionFixture.MintRs256(rsa, Guid.NewGuid().ToString("N"));
        var message = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } }.ToByteArray();
        _frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(_frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(_frame.AsSpan(5));

        _check = new Uri(_server.GetListenerUri("authz"), "/envoy.service.auth.v3.Authorization/Check");
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var (code, detail) = CallWithDetailAsync().GetAwaiter().GetResult();
        if (code != 0)
        {
            throw new InvalidOperationException($"the Check was not allowed: {code} {detail}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>2,000 Check calls from 32 concurrent callers; the per-operation mean is per Check call.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public async Task Check()
    {
        var remaining = Calls;
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                if (await CallAsync().ConfigureAwait(false) != 0)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ConfigureAwait(false);
        if (failures > 0)
        {
            throw new InvalidOperationException($"{failures} Check calls failed");
        }
    }

    private async Task<int> CallAsync() => (await CallWithDetailAsync().ConfigureAwait(false)).Code;

    // The CheckResponse status code (0 = OK, allowed), or -1 for a transport or gRPC error.
    private async Task<(int Code, string Detail)> CallWithDetailAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _check)
        {
            Content = new ByteArrayContent(_frame),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact, // h2c with prior knowledge, as Envoy calls it
        };
        request.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await _client.SendAsync(request).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        if (!response.TrailingHeaders.TryGetValues("grpc-status", out var status) || status.First() != "0" || body.Length < 5)
        {
            return (-1, $"HTTP {(int)response.StatusCode} v{response.Version} trailers [{string.Join(", ", response.TrailingHeaders.Select(h => h.Key + "=" + string.Join(",", h.Value)))}] headers [{string.Join(", ", response.Headers.Select(h => h.Key + "=" + string.Join(",", h.Value)))}]");
        }
        var check = CheckResponse.Parser.ParseFrom(body.AsSpan(5).ToArray());
        return (check.Status?.Code ?? 0, check.Status?.Message ?? "");
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
