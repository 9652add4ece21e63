using System.Net;
using System.Net.Sockets;
using System.Text;
using CsCheck;
using Gatehouse.Configuration;
using Gatehouse.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Fuzz.Tests;

/// <summary>
/// Differential test of path normalization against a second implementation: what real Kestrel hands an ASP.NET
/// upstream as <c>Request.Path</c> for the same raw request target. Wherever both accept a path, the path Gatehouse
/// matched (decoded as Kestrel decodes) must be the path the upstream sees; otherwise a policy could be decided on one
/// path and another served. Gatehouse refusing what Kestrel accepts is allowed (it is stricter by design).
/// </summary>
public sealed class KestrelPathDifferentialTests
{
    private const ulong MasterSeed = 20261207;
    private const int GeneratedInputs = 400;

    // Kestrel does not merge slashes, so the comparison runs with merge_slashes off; everything else at defaults.
    private static readonly PathNormalizationConfig Options = new() { MergeSlashes = false };

    [Fact]
    public async Task WhereBothAccept_GatehouseMatchesThePathKestrelServes()
    {
        await using var app = await EchoServer.StartAsync();
        var compared = 0;
        var disagreements = new List<string>();
        foreach (var raw in Inputs())
        {
            var normalized = PathNormalizer.Normalize(raw, Options);
            if (!normalized.Ok)
            {
                continue;
            }

            var served = await app.PathServedForAsync(raw);
            if (served is null)
            {
                continue; // Kestrel refused the request target (400).
            }

            compared++;
            var expected = KestrelDecode(normalized.Path);
            if (!string.Equals(expected, served, StringComparison.Ordinal))
            {
                disagreements.Add($"raw '{raw}': Gatehouse '{normalized.Path}' (decoded '{expected}') vs Kestrel '{served}'");
            }
        }

        Assert.True(compared >= 100, $"only {compared} paths were accepted by both; the comparison says too little");
        Assert.True(disagreements.Count == 0, string.Join('\n', disagreements.Take(20)));
    }

    private static IEnumerable<string> Inputs()
    {
        var corpus = Path.Combine(AppContext.BaseDirectory, "corpus", "path");
        foreach (var file in Directory.EnumerateFiles(corpus).Order(StringComparer.Ordinal))
        {
            yield return Encoding.Latin1.GetString(File.ReadAllBytes(file));
        }

        var gen = PathGen;
        var master = new PCG(1, MasterSeed);
        for (var i = 0; i < GeneratedInputs; i++)
        {
            yield return gen.Generate(new PCG(master.Stream, master.Next64()), null!, out _);
        }
    }

    /// <summary>Paths built from the pieces that decide normalization: segments, dots raw and encoded, escapes of unreserved and reserved characters, UTF-8.</summary>
    private static readonly Gen<string> PathGen =
        Gen.OneOf("a", "B", ".", "..", "%2e", "%2E%2e", ".%2E", "%41", "%7e", "%20", "%25", "%C3%A9", "%3A", "%40", "~", "-", "_", "x.y", "%2d", "")
            .Array[1, 8]
            .Select(parts => "/" + string.Join('/', parts));

    /// <summary>Kestrel's decoding of a request path: every escape decoded as UTF-8 except <c>%2F</c> (which Gatehouse refuses anyway).</summary>
    private static string KestrelDecode(string path) => Uri.UnescapeDataString(path);

    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly IPEndPoint _endpoint;

        private EchoServer(WebApplication app, IPEndPoint endpoint)
        {
            _app = app;
            _endpoint = endpoint;
        }

        public static async Task<EchoServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.Run(async context =>
            {
                var body = Encoding.UTF8.GetBytes(context.Request.Path.Value ?? "");
                context.Response.ContentLength = body.Length;
                await context.Response.Body.WriteAsync(body);
            });
            await app.StartAsync();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return new EchoServer(app, new IPEndPoint(IPAddress.Loopback, address.Port));
        }

        /// <summary>Sends the raw request target as it is (no client-side normalization) and returns the Request.Path Kestrel served, or null on a 4xx.</summary>
        public async Task<string?> PathServedForAsync(string rawTarget)
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.ConnectAsync(_endpoint, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.Latin1.GetBytes($"GET {rawTarget} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var response = await reader.ReadToEndAsync(timeout.Token);
            if (!response.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            {
                return null;
            }

            var body = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return response[(body + 4)..];
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
