using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Tls;

/// <summary>
/// Cross-cluster trust on real Kestrel and real TLS: a listener trusts east.example from a bundle file and
/// west.example from its SPIFFE federation bundle endpoint, served by another real Kestrel over TLS (its certificate
/// from a third development CA, named by <c>endpoint_ca</c>). Each trust domain vouches only for itself; bundle
/// rotation; an endpoint outage served from the last good bundle up to max_stale, then west peers are refused.
/// The clock is a FakeTimeProvider shared by the listener and the bundle source.
/// </summary>
public sealed class FederatedTrustBundleTests : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private readonly CollectingLogger _logger = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private DevCertificateAuthority _east = null!;
    private DevCertificateAuthority _west = null!;
    private DevCertificateAuthority _endpointCa = null!;
    private BundleEndpoint _endpoint = null!;
    private TlsTestServer _server = null!;

    public async Task InitializeAsync()
    {
        var caOptions = new DevCaOptions { NotBefore = DateTimeOffset.UtcNow.AddDays(-1), Lifetime = TimeSpan.FromDays(30) };
        _east = DevCertificateAuthority.Create("east.example", TimeProvider.System, caOptions);
        _west = DevCertificateAuthority.Create("west.example", TimeProvider.System, caOptions);
        _endpointCa = DevCertificateAuthority.Create("endpoint.example", TimeProvider.System, caOptions);
        _endpoint = await BundleEndpoint.StartAsync(_endpointCa.IssueWorkload(SpiffeId.Parse("spiffe://endpoint.example/bundle"), new WorkloadCertificateOptions { DnsNames = ["localhost"] }));
        _endpoint.Serve(SpiffeBundleDocument.Create([_west.Certificate], sequence: 1));

        var serverFiles = _pki.Write("server", _pki.Workload("spiffe://a.test/ns/edge/sa/gateway"));
        _server = await TlsTestServer.StartAsync(new TlsConfig
        {
            Certificate = serverFiles.Certificate,
            Key = serverFiles.Key,
            ClientCertificate = ClientCertificateRequirement.Require,
            TrustBundles = new Dictionary<string, string> { ["east.example"] = _pki.WriteText("east.pem", _east.CertificatePem) },
            TrustBundleEndpoints = new Dictionary<string, TrustBundleEndpointConfig>
            {
                ["west.example"] = new()
                {
                    Endpoint = _endpoint.Url,
                    RefreshInterval = TimeSpan.FromMinutes(5),
                    MaxStale = TimeSpan.FromHours(1),
                    EndpointCa = _pki.WriteText("endpoint-ca.pem", _endpointCa.CertificatePem),
                },
            },
        }, _logger, time: _time);
        await WaitUntilAsync(() => West.GetState().Usable, "the west bundle was not fetched");
        // Settle: join (or follow) the start-up prefetch, so no test's first refresh joins a fetch begun before it.
        Assert.True(await West.RefreshNowAsync());
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _endpoint.DisposeAsync();
        _east.Dispose();
        _west.Dispose();
        _endpointCa.Dispose();
        _pki.Dispose();
    }

    private FederatedBundleSource West => Assert.Single(_server.State.FederatedBundles);

    private static IssuedCertificate Svid(DevCertificateAuthority ca, string id, string name = "workload") =>
        ca.Issue(new DevCertificateRequest
        {
            Uris = [id],
            CommonName = name,
            NotBefore = DateTimeOffset.UtcNow.AddMinutes(-5),
            NotAfter = DateTimeOffset.UtcNow.AddDays(2),
        });

    /// <summary>The identity the listener saw, or null when the handshake was refused.</summary>
    private async Task<string?> CallAsync(IssuedCertificate client)
    {
        using var http = TlsTestServer.Client(client.Certificate);
        try
        {
            return await http.GetStringAsync(_server.Address);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private string[] Rejections() => [.. _logger.Messages(1600)];

    [Fact]
    public async Task Each_trust_domain_is_verified_against_its_own_bundle_only()
    {
        var west = Svid(_west, "spiffe://west.example/ns/pay/sa/gateway");
        var east = Svid(_east, "spiffe://east.example/ns/shop/sa/checkout");
        // The dangerous cases: a CA of one trust domain issuing an ID of the other.
        var eastIdFromWestCa = Svid(_west, "spiffe://east.example/ns/shop/sa/checkout", "east-id-from-west-ca");
        var westIdFromEastCa = Svid(_east, "spiffe://west.example/ns/pay/sa/gateway", "west-id-from-east-ca");

        Assert.Equal("spiffe://west.example/ns/pay/sa/gateway", await CallAsync(west));
        Assert.Equal("spiffe://east.example/ns/shop/sa/checkout", await CallAsync(east));
        Assert.Null(await CallAsync(eastIdFromWestCa));
        Assert.Null(await CallAsync(westIdFromEastCa));
        // Both refused handshakes (the client may retry a refused connection) for the chain, not the identity format.
        Assert.NotEmpty(Rejections());
        Assert.All(Rejections(), r => Assert.Contains("untrusted_chain", r, StringComparison.Ordinal));
        Assert.Contains(Rejections(), r => r.Contains("CN=east-id-from-west-ca", StringComparison.Ordinal));
        Assert.Contains(Rejections(), r => r.Contains("CN=west-id-from-east-ca", StringComparison.Ordinal));
        Assert.Contains(_logger.Entries, e => e.EventId == 1606); // FederatedBundleLoaded
    }

    [Fact]
    public async Task Rotation_at_the_endpoint_is_picked_up_on_refresh()
    {
        using var westNext = DevCertificateAuthority.Create("west.example", TimeProvider.System, new DevCaOptions { NotBefore = DateTimeOffset.UtcNow.AddDays(-1) });
        var oldSvid = Svid(_west, "spiffe://west.example/ns/pay/sa/gateway");
        var newSvid = Svid(westNext, "spiffe://west.example/ns/pay/sa/gateway");
        Assert.Null(await CallAsync(newSvid));

        // Overlap: both authorities published (SPIFFE bundle spec, appendix A), then the old one removed.
        _endpoint.Serve(SpiffeBundleDocument.Create([_west.Certificate, westNext.Certificate], sequence: 2));
        Assert.True(await West.RefreshNowAsync());
        Assert.NotNull(await CallAsync(oldSvid));
        Assert.NotNull(await CallAsync(newSvid));

        _endpoint.Serve(SpiffeBundleDocument.Create([westNext.Certificate], sequence: 3));
        Assert.True(await West.RefreshNowAsync());
        Assert.Null(await CallAsync(oldSvid));
        Assert.NotNull(await CallAsync(newSvid));
        Assert.Equal(3, West.GetState().Sequence);
    }

    [Fact]
    public async Task A_replayed_older_bundle_is_refused()
    {
        using var rogue = DevCertificateAuthority.Create("west.example", TimeProvider.System, new DevCaOptions { NotBefore = DateTimeOffset.UtcNow.AddDays(-1) });
        _endpoint.Serve(SpiffeBundleDocument.Create([_west.Certificate], sequence: 5));
        Assert.True(await West.RefreshNowAsync());

        _endpoint.Serve(SpiffeBundleDocument.Create([rogue.Certificate], sequence: 4));
        Assert.False(await West.RefreshNowAsync());

        Assert.Contains("spiffe_sequence went backwards", West.GetState().LastFailure, StringComparison.Ordinal);
        Assert.Null(await CallAsync(Svid(rogue, "spiffe://west.example/ns/pay/sa/gateway")));
        Assert.NotNull(await CallAsync(Svid(_west, "spiffe://west.example/ns/pay/sa/gateway")));
    }

    [Fact]
    public async Task Outage_serves_the_last_good_bundle_up_to_max_stale_then_refuses_that_trust_domain_only()
    {
        var west = Svid(_west, "spiffe://west.example/ns/pay/sa/gateway");
        var east = Svid(_east, "spiffe://east.example/ns/shop/sa/checkout");
        _endpoint.FailWith(HttpStatusCode.ServiceUnavailable);

        Assert.False(await West.RefreshNowAsync());
        _time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal("spiffe://west.example/ns/pay/sa/gateway", await CallAsync(west)); // stale, within max_stale
        Assert.True(West.GetState().Usable);
        Assert.Contains(_logger.Entries, e => e.EventId == 1607); // FederatedBundleServingStale

        _time.Advance(TimeSpan.FromMinutes(15)); // 65 min since the last good fetch > max_stale 1h
        Assert.Null(await CallAsync(west));
        Assert.Contains(Rejections(), r => r.Contains("bundle_unavailable/west.example", StringComparison.Ordinal));
        Assert.Equal("spiffe://east.example/ns/shop/sa/checkout", await CallAsync(east)); // east is unaffected
        Assert.False(West.GetState().Usable);

        // The endpoint comes back: the next refresh makes west usable again.
        _endpoint.Serve(SpiffeBundleDocument.Create([_west.Certificate], sequence: 1));
        Assert.True(await West.RefreshNowAsync());
        Assert.NotNull(await CallAsync(west));
    }

    [Fact]
    public async Task Endpoint_not_authenticated_by_endpoint_ca_is_never_trusted_and_readyz_says_why()
    {
        // A real Gatehouse whose inbound listener names the *east* CA as the west endpoint's TLS authority: the
        // endpoint's certificate (from the endpoint CA) is refused, no bundle is ever installed, west peers are
        // refused, and /readyz is 503 naming the trust domain.
        var dir = _pki.Directory;
        var server = _pki.Write("gatehouse", _pki.Workload("spiffe://a.test/ns/edge/sa/inbound"));
        var yaml = $$"""
            version: 1
            listeners:
              - name: inbound
                mode: inbound
                address: "127.0.0.1:0"
                tls:
                  certificate: {{server.Certificate}}
                  key: {{server.Key}}
                  client_certificate: require
                  trust_bundles:
                    west.example:
                      endpoint: {{_endpoint.Url}}
                      endpoint_ca: {{_pki.WriteText("wrong-endpoint-ca.pem", _east.CertificatePem)}}
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
            routes:
              - name: app
                upstream: http://127.0.0.1:9
                authentication: { require_token: false }
            """;
        var configPath = Path.Combine(dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(configPath, yaml);
        var load = ConfigLoader.LoadFile(configPath);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        await using var gatehouse = await Gatehouse.Proxy.Hosting.GatehouseServer.StartAsync(new Gatehouse.Proxy.Hosting.GatehouseServerOptions
        {
            Config = load.Config!,
            ConfigPath = configPath,
            ReferencedFiles = load.ReferencedFiles,
            ConfigureLogging = logging => logging.ClearProviders(),
        });
        using var admin = new HttpClient { BaseAddress = gatehouse.GetListenerUri("admin") };

        System.Text.Json.JsonElement bundle = default;
        await WaitUntilAsync(() =>
        {
            using var response = admin.GetAsync("/readyz").GetAwaiter().GetResult();
            var body = System.Text.Json.JsonDocument.Parse(response.Content.ReadAsStringAsync().GetAwaiter().GetResult()).RootElement;
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || !body.TryGetProperty("trust_bundles", out var bundles)
                || !bundles[0].TryGetProperty("last_failure", out _))
            {
                return false;
            }

            bundle = bundles[0].Clone();
            return true;
        }, "readyz did not report the west bundle");

        Assert.Equal("inbound", bundle.GetProperty("listener").GetString());
        Assert.Equal("west.example", bundle.GetProperty("trust_domain").GetString());
        Assert.False(bundle.GetProperty("usable").GetBoolean());
        Assert.False(bundle.GetProperty("loaded").GetBoolean());
        Assert.Contains("never fetched", bundle.GetProperty("reason").GetString(), StringComparison.Ordinal);
        using var http = TlsTestServer.Client(Svid(_west, "spiffe://west.example/ns/pay/sa/gateway").Certificate);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(gatehouse.GetListenerUri("inbound")));
        // The counter is bumped right after the failure is recorded, so poll rather than read once.
        await WaitUntilAsync(() => admin.GetStringAsync("/metrics").GetAwaiter().GetResult().Split('\n').Any(line =>
            line.StartsWith("gatehouse_trust_bundle_fetch_total{", StringComparison.Ordinal)
            && line.Contains("trust_domain=\"west.example\"", StringComparison.Ordinal) && line.Contains("result=\"failure\"", StringComparison.Ordinal)),
            "gatehouse_trust_bundle_fetch_total{trust_domain=\"west.example\",result=\"failure\"} not exported");
    }

    [Fact]
    public async Task Concurrent_refreshes_share_one_fetch()
    {
        var before = _endpoint.Requests;
        _endpoint.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var refreshes = Enumerable.Range(0, 5).Select(_ => West.RefreshNowAsync()).ToArray();
        await WaitUntilAsync(() => _endpoint.Requests > before, "no fetch started");
        _endpoint.Gate.SetResult();
        var results = await Task.WhenAll(refreshes);

        Assert.All(results, Assert.True);
        Assert.Equal(before + 1, _endpoint.Requests);
    }

    [Fact]
    public async Task Background_refresh_follows_the_clock_and_a_shorter_refresh_hint()
    {
        // refresh_interval is 5m; the endpoint now asks for 60s (SPIFFE bundle spec §4.1.2), which wins.
        _endpoint.Serve(SpiffeBundleDocument.Create([_west.Certificate], sequence: 2, refreshHint: TimeSpan.FromSeconds(60)));
        Assert.True(await West.RefreshNowAsync());

        // The loop's current wait was scheduled before the hint arrived (5m ±10%); the clock moves in 10 s steps.
        var first = await AdvanceUntilFetchAsync(TimeSpan.FromMinutes(7));
        var second = await AdvanceUntilFetchAsync(TimeSpan.FromMinutes(7));

        Assert.InRange(first, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(6));
        Assert.InRange(second, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(150)); // the hint (60s ±10%), never the 5m interval (≥ 270s)
    }

    /// <summary>Advances the fake clock in 10 s steps until the endpoint sees a new request; returns the fake time it took.</summary>
    private async Task<TimeSpan> AdvanceUntilFetchAsync(TimeSpan limit)
    {
        var before = _endpoint.Requests;
        var installedBefore = West.GetState().LastSuccessfulFetch;
        var elapsed = TimeSpan.Zero;
        // Bounded by real time, not by `limit`: on a loaded machine the loop may schedule its wait a few steps late,
        // which the caller's range assertion judges; running out of fake time here would only turn it into a timeout.
        var real = System.Diagnostics.Stopwatch.StartNew();
        while (_endpoint.Requests == before && (elapsed < limit || real.Elapsed < TimeSpan.FromSeconds(30)))
        {
            // Let the loop schedule its next wait (real time) before the fake clock moves on.
            await Task.Delay(30);
            _time.Advance(TimeSpan.FromSeconds(10));
            elapsed += TimeSpan.FromSeconds(10);
        }

        await WaitUntilAsync(() => _endpoint.Requests > before, "no background refresh within " + limit);
        await WaitUntilAsync(() => West.GetState().LastSuccessfulFetch != installedBefore, "the refresh was not installed");
        return elapsed;
    }

    [Fact]
    public async Task Plain_http_to_a_remote_host_is_never_fetched()
    {
        using var http = new HttpClient();
        await using var source = new FederatedBundleSource("west.example", new TrustBundleEndpointConfig { Endpoint = "http://spire.west.example/bundle" }, http, _time, _logger);

        Assert.False(await source.RefreshNowAsync());
        Assert.Contains("not https", source.GetState().LastFailure, StringComparison.Ordinal);
        Assert.False(source.TryGetAuthorities(out _));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string because)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }

        Assert.True(condition(), because);
    }

    /// <summary>A SPIFFE bundle endpoint on real Kestrel over TLS, answering a settable document or an error.</summary>
    private sealed class BundleEndpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private volatile string _document = "{}";
        private volatile int _status = 200;
        private int _requests;

        /// <summary>Requests answered so far.</summary>
        public int Requests => Volatile.Read(ref _requests);

        /// <summary>While set, requests wait for it before answering.</summary>
        public TaskCompletionSource? Gate { get; set; }

        private BundleEndpoint(WebApplication app, string url)
        {
            _app = app;
            Url = url;
        }

        public string Url { get; }

        public static async Task<BundleEndpoint> StartAsync(IssuedCertificate certificate)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrelHttpsConfiguration();
            var serverCertificate = X509Certificate2.CreateFromPem(certificate.CertificatePem, certificate.KeyPem);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(serverCertificate)));
            var app = builder.Build();
            BundleEndpoint? self = null;
            app.MapGet("/bundle", async (HttpContext context) =>
            {
                Interlocked.Increment(ref self!._requests);
                if (self.Gate is { } gate)
                {
                    await gate.Task;
                }

                context.Response.StatusCode = self._status;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(self._status == 200 ? self._document : "unavailable");
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            self = new BundleEndpoint(app, address.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/bundle");
            return self;
        }

        public void Serve(string document)
        {
            _document = document;
            _status = 200;
        }

        public void FailWith(HttpStatusCode status) => _status = (int)status;

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
