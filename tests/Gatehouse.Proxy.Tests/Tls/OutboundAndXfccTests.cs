using System.Security.Authentication;
using Gatehouse.Configuration;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Proxy.Tls;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Tls;

public sealed class MtlsClientHandlerTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly CollectingLogger _logger = new();

    public void Dispose() => _pki.Dispose();

    private async Task<TlsTestServer> StartUpstreamAsync(string identity)
    {
        using var upstream = _pki.Workload(identity);
        var files = _pki.Write("upstream", upstream);
        return await TlsTestServer.StartAsync(new TlsConfig
        {
            Certificate = files.Certificate,
            Key = files.Key,
            ClientCertificate = ClientCertificateRequirement.Require,
            TrustBundles = new Dictionary<string, string> { ["a.test"] = _pki.BundleA },
        }, new CollectingLogger());
    }

    private OutboundConfig Outbound(string expectedPeer, string? bundle = null)
    {
        using var sidecar = _pki.Workload("spiffe://a.test/ns/shop/sa/checkout");
        var files = _pki.Write("sidecar", sidecar);
        return new OutboundConfig { ClientCertificate = files.Certificate, ClientKey = files.Key, TrustBundle = bundle ?? _pki.BundleA, ExpectedPeer = expectedPeer };
    }

    [Fact]
    public async Task Accepts_the_expected_peer_and_presents_the_workload_certificate()
    {
        await using var upstream = await StartUpstreamAsync("spiffe://a.test/ns/shop/sa/orders");
        using var handler = MtlsClientHandlerFactory.Create(Outbound("spiffe://a.test/ns/shop/sa/orders"), TimeProvider.System, _logger);
        using var http = new HttpClient(handler, disposeHandler: false);

        // The upstream (a Gatehouse inbound listener) sees the sidecar's SPIFFE ID.
        Assert.Equal("spiffe://a.test/ns/shop/sa/checkout", await http.GetStringAsync(upstream.Address));
        Assert.Empty(_logger.Messages(TlsLog.Ids.UpstreamCertificateRejected));
    }

    [Fact]
    public async Task Rejects_an_upstream_with_another_spiffe_id()
    {
        await using var upstream = await StartUpstreamAsync("spiffe://a.test/ns/shop/sa/impostor");
        using var handler = MtlsClientHandlerFactory.Create(Outbound("spiffe://a.test/ns/shop/sa/orders"), TimeProvider.System, _logger);
        using var http = new HttpClient(handler, disposeHandler: false);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(upstream.Address));
        Assert.IsType<AuthenticationException>(error.InnerException);
        Assert.Contains("peer.identity_mismatch", Assert.Single(_logger.Messages(TlsLog.Ids.UpstreamCertificateRejected)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejects_an_upstream_from_another_ca()
    {
        await using var upstream = await StartUpstreamAsync("spiffe://a.test/ns/shop/sa/orders");
        using var otherCa = DevCertificateAuthority.Create("a.test", TimeProvider.System);
        var otherBundle = _pki.WriteText("other.pem", otherCa.CertificatePem);
        using var handler = MtlsClientHandlerFactory.Create(Outbound("spiffe://a.test/ns/shop/sa/orders", otherBundle), TimeProvider.System, _logger);
        using var http = new HttpClient(handler, disposeHandler: false);

        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(upstream.Address));
        Assert.Contains(PeerCertificateFailures.UntrustedChain, Assert.Single(_logger.Messages(TlsLog.Ids.UpstreamCertificateRejected)), StringComparison.Ordinal);
    }

    [Fact]
    public void Fails_closed_on_missing_configuration()
    {
        var result = MtlsClientHandlerFactory.TryCreate(new OutboundConfig(), TimeProvider.System);
        Assert.Null(result.Handler);
        Assert.Equal(3, result.Errors.Count);
        Assert.Throws<InvalidOperationException>(() => MtlsClientHandlerFactory.Create(Outbound("not-a-spiffe-id"), TimeProvider.System));
    }
}

public sealed class XfccPolicyTests
{
    [Fact]
    public void Untrusted_listener_strips_inbound_xfcc()
    {
        var headers = new HeaderDictionary { [Xfcc.HeaderName] = "URI=spiffe://a.test/admin" };
        Assert.Null(XfccPolicy.SanitizeInbound(headers, trustForwardedClientCert: false));
        Assert.False(headers.ContainsKey(Xfcc.HeaderName));
    }

    [Fact]
    public void Trusted_listener_keeps_it_and_reads_the_nearest_element()
    {
        var headers = new HeaderDictionary { [Xfcc.HeaderName] = new(["By=spiffe://a.test/edge;URI=spiffe://a.test/far", "By=spiffe://a.test/mesh;URI=spiffe://a.test/near"]) };
        var trusted = XfccPolicy.SanitizeInbound(headers, trustForwardedClientCert: true);
        Assert.True(headers.ContainsKey(Xfcc.HeaderName));
        Assert.True(XfccPolicy.TryGetForwardedPeer(trusted, out var peer));
        Assert.Equal("spiffe://a.test/near", peer.Value);
        Assert.False(XfccPolicy.TryGetForwardedPeer("URI=https://not-spiffe", out _));
        Assert.False(XfccPolicy.TryGetForwardedPeer("By=\"broken", out _));
    }

    [Fact]
    public void Upstream_value_carries_this_hops_verified_peer()
    {
        using var ca = DevCertificateAuthority.Create("a.test", TimeProvider.System);
        using var client = ca.IssueWorkload(SpiffeId.Parse("spiffe://a.test/ns/shop/sa/checkout"));
        var bundles = new TrustBundleSet(new Dictionary<string, System.Security.Cryptography.X509Certificates.X509Certificate2Collection> { ["a.test"] = [ca.Certificate] }, null);
        var peer = PeerCertificateValidator.Validate(client.Certificate, null, bundles, TimeProvider.System);
        var self = SpiffeId.Parse("spiffe://a.test/ns/shop/sa/orders-sidecar");

        var value = XfccPolicy.BuildUpstreamValue(null, peer, self);
        var element = Assert.Single(Xfcc.Parse(value).Elements);
        Assert.Equal(self.Value, element.By);
        Assert.Equal(CertificateNames.Sha256Hex(client.Certificate), element.Hash);
        Assert.Equal("spiffe://a.test/ns/shop/sa/checkout", element.Uri);
        Assert.Equal(client.Certificate.Subject, element.Subject);

        var appended = XfccPolicy.BuildUpstreamValue("By=spiffe://a.test/edge;URI=spiffe://a.test/far", peer, self);
        Assert.Equal(2, Xfcc.Parse(appended).Elements.Count);

        Assert.Null(XfccPolicy.BuildUpstreamValue(null, null, self));
        Assert.Equal("URI=spiffe://a.test/far", XfccPolicy.BuildUpstreamValue("URI=spiffe://a.test/far", null, self));
    }
}
