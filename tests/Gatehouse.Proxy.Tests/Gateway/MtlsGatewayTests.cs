using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// Sidecar inbound and outbound through the real host with real TLS handshakes: workload identity in policy,
/// XFCC to the upstream, RFC 8705 bound tokens, and outbound mTLS with an expected peer identity.
/// </summary>
public sealed class MtlsGatewayTests : IAsyncLifetime
{
    private readonly string _dir = Gatehouse.Testing.TestTemp.CreateDirectory("mtls-");
    private DevCertificateAuthority _ca = null!;
    private DevCertificateAuthority _rogueCa = null!;
    private readonly TestIssuerKeys _keys = new();
    private TestUpstream _upstream = null!;
    private GatehouseServer _server = null!;
    private (string Cert, string Key) _gateway;
    private (string Cert, string Key) _checkout;
    private (string Cert, string Key) _catalog;
    private (string Cert, string Key) _rogue;
    private string _bundle = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        // Note: valid from ten days ago, so it can issue the expired certificate of a bad-input case.
        _ca = DevCertificateAuthority.Create("cluster.local", TimeProvider.System, new DevCaOptions { NotBefore = DateTimeOffset.UtcNow.AddDays(-10), Lifetime = TimeSpan.FromDays(30) });
        _rogueCa = DevCertificateAuthority.Create("cluster.local", TimeProvider.System);
        _bundle = Path.Combine(_dir, "bundle.pem");
        await File.WriteAllTextAsync(_bundle, _ca.CertificatePem);
        _gateway = Issue(_ca, "spiffe://cluster.local/ns/shop/sa/orders-sidecar", "gateway", ["localhost"]);
        _checkout = Issue(_ca, "spiffe://cluster.local/ns/shop/sa/checkout", "checkout", []);
        _catalog = Issue(_ca, "spiffe://cluster.local/ns/shop/sa/catalog", "catalog", []);
        _rogue = Issue(_rogueCa, "spiffe://cluster.local/ns/shop/sa/checkout", "rogue", []);
        _upstream = await TestUpstream.StartAsync();
        var jwks = Path.Combine(_dir, "jwks.json");
        await File.WriteAllTextAsync(jwks, _keys.JwksJson());
        var config = Path.Combine(_dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, $$"""
            version: 1
            issuers:
              corp:
                issuer: {{TestIssuerKeys.Issuer}}
                jwks_file: {{jwks}}
                audiences: [orders]
            listeners:
              - name: inbound
                mode: inbound
                address: "127.0.0.1:0"
                tls:
                  certificate: {{_gateway.Cert}}
                  key: {{_gateway.Key}}
                  client_certificate: require
                  trust_bundles: { cluster.local: {{_bundle}} }
            routes:
              - name: orders
                match: { path_prefix: /orders }
                upstream: {{_upstream.Address}}
                authentication: { issuers: [corp], require_token: true }
                policies: [only-checkout-writes]
              - name: bound
                match: { path_prefix: /bound }
                upstream: {{_upstream.Address}}
                authentication: { issuers: [corp], require_token: true, require_bound_tokens: true }
            policies:
              only-checkout-writes:
                action: allow
                rules:
                  - from: { principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] }
                    to: { methods: [POST] }
                    when: { scopes: [orders.write] }
                  - from: { namespaces: [shop] }
                    to: { methods: [GET] }
            audit: { path: {{Path.Combine(_dir, "audit.jsonl")}} }
            """);
        var load = ConfigLoader.LoadFile(config);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        _server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            ConfigPath = config,
            ReferencedFiles = load.ReferencedFiles,
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        });
        Assert.True(await _server.WaitUntilReadyAsync(TimeSpan.FromSeconds(10)));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _upstream.DisposeAsync();
        _ca.Dispose();
        _rogueCa.Dispose();
        _keys.Dispose();
    }

    [Fact]
    public async Task CheckoutWorkload_MayPost_AndTheUpstreamSeesItsIdentityInXfcc()
    {
        using var client = Client(_checkout);
        using var request = Request(HttpMethod.Post, "/orders", _keys.Mint("orders.write"));
        request.Headers.TryAddWithoutValidation("x-forwarded-client-cert", "URI=spiffe://cluster.local/ns/shop/sa/admin");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var xfcc = _upstream.Last().Headers["x-forwarded-client-cert"];
        Assert.Contains("URI=spiffe://cluster.local/ns/shop/sa/checkout", xfcc, StringComparison.Ordinal);
        Assert.Contains("By=spiffe://cluster.local/ns/shop/sa/orders-sidecar", xfcc, StringComparison.Ordinal);
        Assert.DoesNotContain("admin", xfcc, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherWorkload_WithTheSameToken_IsRefused()
    {
        using var client = Client(_catalog);

        using var post = await client.SendAsync(Request(HttpMethod.Post, "/orders", _keys.Mint("orders.write")));
        using var get = await client.SendAsync(Request(HttpMethod.Get, "/orders", _keys.Mint("orders.write")));

        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        Assert.Equal("policy.no_allow_match", post.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    // Issue 5, bad input: every refused certificate is audited with its reason, though no HTTP request ever existed.
    [Theory]
    [InlineData("no-certificate", "peer.certificate_missing")]
    [InlineData("other-ca", "peer.certificate_invalid:untrusted_chain")]
    [InlineData("expired", "peer.certificate_invalid:expired")]
    [InlineData("not-yet-valid", "peer.certificate_invalid:not_yet_valid")]
    [InlineData("no-uri-san", "peer.certificate_invalid:no_uri_san")]
    [InlineData("two-uri-sans", "peer.certificate_invalid:multiple_uri_sans")]
    [InlineData("other-trust-domain", "peer.certificate_invalid:unknown_trust_domain")]
    public async Task BadClientCertificates_FailTheHandshake(string which, string reason)
    {
        var now = DateTimeOffset.UtcNow;
        using var unconstrained = DevCertificateAuthority.Create("cluster.local", TimeProvider.System, new DevCaOptions { ConstrainToTrustDomain = false, NotBefore = now.AddDays(-1) });
        using var issued = which switch
        {
            "expired" => _ca.Issue(new DevCertificateRequest { Uris = ["spiffe://cluster.local/ns/shop/sa/checkout"], NotBefore = now.AddDays(-5), NotAfter = now.AddDays(-4) }),
            "not-yet-valid" => _ca.Issue(new DevCertificateRequest { Uris = ["spiffe://cluster.local/ns/shop/sa/checkout"], NotBefore = now.AddDays(1), NotAfter = now.AddDays(2) }),
            "no-uri-san" => _ca.Issue(new DevCertificateRequest { DnsNames = ["checkout.shop.svc"], NotBefore = now.AddHours(-1), NotAfter = now.AddHours(1) }),
            "two-uri-sans" => _ca.Issue(new DevCertificateRequest { Uris = ["spiffe://cluster.local/ns/shop/sa/checkout", "spiffe://cluster.local/ns/shop/sa/catalog"], NotBefore = now.AddHours(-1), NotAfter = now.AddHours(1) }),
            // An identity of a trust domain that has no bundle on this listener.
            "other-trust-domain" => unconstrained.Issue(new DevCertificateRequest { Uris = ["spiffe://partner.example/ns/shop/sa/checkout"], NotBefore = now.AddHours(-1), NotAfter = now.AddHours(1) }),
            _ => null,
        };
        using var client = issued is not null ? Client(issued.Certificate) : which == "no-certificate" ? Client((X509Certificate2?)null) : Client(_rogue);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Request(HttpMethod.Get, "/orders", _keys.Mint())));
        Assert.Empty(_upstream.Received);

        await _server.FlushAuditAsync();
        var audit = await File.ReadAllTextAsync(Path.Combine(_dir, "audit.jsonl"));
        Assert.Contains("\"" + reason, audit, StringComparison.Ordinal);
        Assert.Contains("\"method\":\"TLS\"", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoundToken_IsAcceptedOnlyOverItsCertificate()
    {
        using var checkoutCert = X509Certificate2.CreateFromPemFile(_checkout.Cert, _checkout.Key);
        var thumbprint = CertificateNames.Sha256Thumbprint(checkoutCert);
        var bound = _keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, object> { ["x5t#S256"] = thumbprint } });
        using var right = Client(_checkout);
        using var wrong = Client(_catalog);

        using var ok = await right.SendAsync(Request(HttpMethod.Get, "/bound", bound));
        using var mismatch = await wrong.SendAsync(Request(HttpMethod.Get, "/bound", bound));
        using var unbound = await right.SendAsync(Request(HttpMethod.Get, "/bound", _keys.Mint()));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, mismatch.StatusCode);
        Assert.Equal("token.binding_mismatch", mismatch.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal(HttpStatusCode.Unauthorized, unbound.StatusCode);
        Assert.Equal("token.binding_required", unbound.Headers.GetValues("x-gatehouse-reason").Single());
    }

    [Theory]
    [InlineData("spiffe://cluster.local/ns/shop/sa/orders", HttpStatusCode.OK)]
    [InlineData("spiffe://cluster.local/ns/shop/sa/impostor", HttpStatusCode.BadGateway)]
    public async Task Outbound_OriginatesMtls_AndChecksThePeersIdentity(string expectedPeer, HttpStatusCode expected)
    {
        var upstreamCert = Issue(_ca, "spiffe://cluster.local/ns/shop/sa/orders", "orders-upstream", ["localhost"]);
        var client = Issue(_ca, "spiffe://cluster.local/ns/shop/sa/checkout", "checkout-outbound", []);
        string? presented = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = X509Certificate2.CreateFromPemFile(upstreamCert.Cert, upstreamCert.Key),
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = (_, _, _) => true,
        })));
        await using var upstream = builder.Build();
        upstream.Run(async context =>
        {
            presented = context.Connection.ClientCertificate?.Subject;
            await context.Response.WriteAsync("orders over mtls");
        });
        await upstream.StartAsync();
        var port = new Uri(upstream.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

        var config = Path.Combine(_dir, $"outbound-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, $$"""
            version: 1
            listeners:
              - { name: outbound, mode: outbound, address: "127.0.0.1:0" }
            routes:
              - name: orders
                match: { path_prefix: / }
                upstream: https://localhost:{{port}}
                authentication: { require_token: false }
                outbound:
                  client_certificate: {{client.Cert}}
                  client_key: {{client.Key}}
                  trust_bundle: {{_bundle}}
                  expected_peer: {{expectedPeer}}
            """);
        var load = ConfigLoader.LoadFile(config);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        await using var sidecar = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            WatchForChanges = false,
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        });
        using var app = new HttpClient { BaseAddress = sidecar.GetListenerUri("outbound") };

        using var response = await app.GetAsync("/orders/1");

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal("orders over mtls", await response.Content.ReadAsStringAsync());
            Assert.Contains("checkout", presented, StringComparison.Ordinal);
        }
    }

    private (string Cert, string Key) Issue(DevCertificateAuthority ca, string id, string name, IReadOnlyList<string> dns)
    {
        Assert.True(ca.TryIssueWorkload(SpiffeId.Parse(id), new WorkloadCertificateOptions { DnsNames = dns }, out var issued, out var error), error);
        using (issued)
        {
            Assert.True(DevCertificateFiles.TryWriteWorkload(issued, Path.Combine(_dir, name), out var paths, out error), error);
            return (paths.Certificate, paths.Key);
        }
    }

    private HttpClient Client((string Cert, string Key)? identity)
        => Client(identity is { } id ? X509Certificate2.CreateFromPemFile(id.Cert, id.Key) : null);

    private HttpClient Client(X509Certificate2? certificate)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        using var caCert = X509Certificate2.CreateFromPem(_ca.CertificatePem);
        var trusted = X509CertificateLoader.LoadCertificate(caCert.RawData);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }
        return new HttpClient(handler) { BaseAddress = new Uri("https://localhost:" + _server.GetListenerUri("inbound").Port), Timeout = TimeSpan.FromSeconds(10) };
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return request;
    }
}
