using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Model;
using Gatehouse.Proxy.Tls;

namespace Gatehouse.Tests.Tls;

/// <summary>Real TLS handshakes against Kestrel on 127.0.0.1 with certificates minted per run.</summary>
public sealed class TlsListenerTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly CollectingLogger _logger = new();
    private readonly (string Certificate, string Key) _serverFiles;

    public TlsListenerTests()
    {
        using var server = _pki.Workload("spiffe://a.test/gatehouse");
        _serverFiles = _pki.Write("server", server);
    }

    public void Dispose() => _pki.Dispose();

    private TlsConfig Tls(ClientCertificateRequirement requirement, Dictionary<string, string>? bundles = null) => new()
    {
        Certificate = _serverFiles.Certificate,
        Key = _serverFiles.Key,
        ClientCertificate = requirement,
        TrustBundles = bundles ?? new Dictionary<string, string> { ["a.test"] = _pki.BundleA },
    };

    private static async Task<string> GetAsync(TlsTestServer server, X509Certificate2? client, string path = "/", Version? version = null)
    {
        using var http = TlsTestServer.Client(client, version: version);
        return await http.GetStringAsync(new Uri(server.Address, path));
    }

    [Fact]
    public async Task Valid_svid_exposes_identity_and_thumbprint_to_requests()
    {
        await using var server = await TlsTestServer.StartAsync(Tls(ClientCertificateRequirement.Require), _logger);
        using var client = _pki.Workload("spiffe://a.test/ns/shop/sa/checkout");

        Assert.Equal("spiffe://a.test/ns/shop/sa/checkout", await GetAsync(server, client.Certificate));
        Assert.Equal(CertificateNames.Sha256Thumbprint(client.Certificate), await GetAsync(server, client.Certificate, "/thumbprint"));
        Assert.Equal("spiffe://a.test/ns/shop/sa/checkout", await GetAsync(server, client.Certificate, version: HttpVersion.Version20));
        Assert.Equal("spiffe://a.test/gatehouse", server.State.OwnIdentity?.Value);
    }

    [Fact]
    public async Task Several_requests_on_one_connection_share_one_validation()
    {
        await using var server = await TlsTestServer.StartAsync(Tls(ClientCertificateRequirement.Require), _logger);
        using var client = _pki.Workload("spiffe://a.test/x");
        using var http = TlsTestServer.Client(client.Certificate, version: HttpVersion.Version20);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("spiffe://a.test/x", await http.GetStringAsync(server.Address));
        }

        Assert.Single(_logger.Messages(TlsLog.Ids.ClientCertificateAccepted));
    }

    [Fact]
    public async Task Require_without_certificate_fails_the_handshake()
    {
        await using var server = await TlsTestServer.StartAsync(Tls(ClientCertificateRequirement.Require), _logger);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => GetAsync(server, null));
        Assert.All(_logger.Messages(TlsLog.Ids.ClientCertificateMissing), m => Assert.Contains(ReasonCodes.PeerCertificateMissing, m, StringComparison.Ordinal));
        Assert.NotEmpty(_logger.Messages(TlsLog.Ids.ClientCertificateMissing));
    }

    [Fact]
    public async Task Optional_without_certificate_is_anonymous()
    {
        await using var server = await TlsTestServer.StartAsync(Tls(ClientCertificateRequirement.Optional), _logger);
        Assert.Equal("anonymous", await GetAsync(server, null));

        using var client = _pki.Workload("spiffe://a.test/x");
        Assert.Equal("spiffe://a.test/x", await GetAsync(server, client.Certificate));
    }

    [Fact]
    public async Task None_never_exposes_an_identity()
    {
        await using var server = await TlsTestServer.StartAsync(Tls(ClientCertificateRequirement.None), _logger);
        using var client = _pki.Workload("spiffe://a.test/x");
        Assert.Equal("anonymous", await GetAsync(server, client.Certificate));
    }

    public static TheoryData<string, ClientCertificateRequirement> BadCertificates()
    {
        var data = new TheoryData<string, ClientCertificateRequirement>();
        foreach (var kind in new[] { "other_ca", "expired", "not_yet_valid", "no_uri_san", "two_uri_sans", "trust_domain_mismatch" })
        {
            data.Add(kind, ClientCertificateRequirement.Require);
            data.Add(kind, ClientCertificateRequirement.Optional);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public async Task Bad_certificates_fail_the_handshake_with_a_clear_reason(string kind, ClientCertificateRequirement requirement)
    {
        var now = DateTimeOffset.UtcNow;
        using var otherCa = DevCertificateAuthority.Create("a.test", TimeProvider.System);
        using var unconstrainedA = DevCertificateAuthority.Create("a.test", TimeProvider.System, new DevCaOptions { ConstrainToTrustDomain = false, NotBefore = now.AddDays(-1) });
        var (issued, expectedDetail) = kind switch
        {
            "other_ca" => (otherCa.IssueWorkload(Identity.Spiffe.SpiffeId.Parse("spiffe://a.test/x")), PeerCertificateFailures.UntrustedChain),
            "expired" => (_pki.CaA.Issue(new DevCertificateRequest { Uris = ["spiffe://a.test/x"], NotBefore = now.AddDays(-5), NotAfter = now.AddDays(-4) }), PeerCertificateFailures.Expired),
            "not_yet_valid" => (_pki.CaA.Issue(new DevCertificateRequest { Uris = ["spiffe://a.test/x"], NotBefore = now.AddDays(1), NotAfter = now.AddDays(2) }), PeerCertificateFailures.NotYetValid),
            "no_uri_san" => (_pki.CaA.Issue(new DevCertificateRequest { DnsNames = ["x.a.test"], NotBefore = now.AddHours(-1), NotAfter = now.AddHours(1) }), PeerCertificateFailures.NoUriSan),
            "two_uri_sans" => (_pki.CaA.Issue(new DevCertificateRequest { Uris = ["spiffe://a.test/x", "spiffe://a.test/y"], NotBefore = now.AddHours(-1), NotAfter = now.AddHours(1) }), PeerCertificateFailures.MultipleUriSans),
            // A b.test identity signed by a.test's CA, where only the a.test bundle is configured.
            "trust_domain_mismatch" => (unconstrainedA.Issue(new DevCertificateRequest { Uris = ["spiffe://b.test/x"], NotBefore = now.AddHours(-1), NotAfter = now.AddHours(1) }), PeerCertificateFailures.UnknownTrustDomain),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        using var _ = issued;
        var bundleA = kind == "trust_domain_mismatch" ? _pki.WriteText("bundle-unconstrained.pem", unconstrainedA.CertificatePem) : _pki.BundleA;

        await using var server = await TlsTestServer.StartAsync(Tls(requirement, new Dictionary<string, string> { ["a.test"] = bundleA }), _logger);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => GetAsync(server, issued.Certificate));

        // Note: with TLS 1.3 the client learns of the rejection only when it reads, and SocketsHttpHandler retries
        // such a request on a new connection, so there may be several rejections, each with the same reason.
        var messages = _logger.Messages(TlsLog.Ids.ClientCertificateRejected).ToList();
        Assert.NotEmpty(messages);
        Assert.All(messages, m => Assert.Contains(ReasonCodes.PeerCertificateInvalid + ":" + expectedDetail, m, StringComparison.Ordinal));
        Assert.Empty(_logger.Messages(TlsLog.Ids.ClientCertificateAccepted));
    }

    [Fact]
    public async Task Rotated_server_certificate_and_bundles_are_used_by_new_connections()
    {
        await using var server = await TlsTestServer.StartAsync(Tls(ClientCertificateRequirement.Require), _logger);
        using var clientA = _pki.Workload("spiffe://a.test/x");
        using var rotatedCa = DevCertificateAuthority.Create("a.test", TimeProvider.System, new DevCaOptions { NotBefore = DateTimeOffset.UtcNow.AddDays(-1) });
        using var clientB = _pki.Workload("spiffe://a.test/y", rotatedCa);

        X509Certificate2? seen = null;
        using (var http = TlsTestServer.Client(clientA.Certificate, c => seen = c))
        {
            Assert.Equal("spiffe://a.test/x", await http.GetStringAsync(server.Address));
        }

        var before = seen!.Thumbprint;
        // An open connection survives the rotation.
        using var longLived = TlsTestServer.Client(clientA.Certificate);
        Assert.Equal("spiffe://a.test/x", await longLived.GetStringAsync(server.Address));

        // Rotate: new server certificate, and the a.test bundle now holds both the old and a new CA.
        using var newServer = _pki.Workload("spiffe://a.test/gatehouse");
        _pki.Write("server", newServer);
        _pki.WriteText("bundle-a.pem", _pki.CaA.CertificatePem + rotatedCa.CertificatePem);

        using (var http = TlsTestServer.Client(clientB.Certificate, c => seen = c))
        {
            Assert.Equal("spiffe://a.test/y", await http.GetStringAsync(server.Address));
        }

        Assert.NotEqual(before, seen.Thumbprint);
        Assert.Equal(newServer.Certificate.Thumbprint, seen.Thumbprint);
        Assert.Equal("spiffe://a.test/x", await longLived.GetStringAsync(server.Address));
        Assert.NotEmpty(_logger.Messages(TlsLog.Ids.MaterialReloaded));
    }

    [Fact]
    public async Task A_broken_rotation_keeps_the_last_good_material()
    {
        await using var server = await TlsTestServer.StartAsync(Tls(ClientCertificateRequirement.Require), _logger);
        using var client = _pki.Workload("spiffe://a.test/x");
        Assert.Equal("spiffe://a.test/x", await GetAsync(server, client.Certificate));

        // A new certificate with the old key: does not load; the listener keeps serving the previous pair.
        using var mismatched = _pki.Workload("spiffe://a.test/gatehouse");
        _pki.WriteText("server.pem", mismatched.CertificatePem);
        Assert.Equal("spiffe://a.test/x", await GetAsync(server, client.Certificate));
        Assert.Single(_logger.Messages(TlsLog.Ids.MaterialReloadFailed));
    }

    [Fact]
    public void Bad_configuration_is_reported_with_every_error()
    {
        var listen = CreateListenOptions();
        var result = TlsListenerConfigurator.TryConfigure(listen, new TlsConfig { ClientCertificate = ClientCertificateRequirement.Require }, _logger, TimeProvider.System);
        Assert.Null(result.State);
        Assert.Equal(2, result.Errors.Count);

        result = TlsListenerConfigurator.TryConfigure(listen, Tls(ClientCertificateRequirement.Require, new Dictionary<string, string> { ["a.test"] = "/nonexistent.pem" }), _logger, TimeProvider.System);
        Assert.Null(result.State);
        Assert.Single(result.Errors);
    }

    private static Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions CreateListenOptions()
    {
        // ListenOptions has no public constructor; KestrelServerOptions.Listen creates one.
        var options = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions();
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? captured = null;
        options.Listen(IPAddress.Loopback, 0, l => captured = l);
        return captured!;
    }
}
