using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Identity;

/// <summary>
/// Peer-certificate checks that survived mutation testing (docs/security.md, "Mutation testing", the identity-peer
/// set): key usage on a leaf, a chain through an intermediate the peer sends (and never one fetched from the
/// network), an empty bundle, and a federated trust domain whose bundle is unavailable.
/// </summary>
public sealed class PeerCertificateMutationTests : IDisposable
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(s_now);
    private readonly DevCertificateAuthority _root;

    public PeerCertificateMutationTests()
    {
        _root = DevCertificateAuthority.Create("a.test", _clock, new DevCaOptions { NotBefore = s_now.AddDays(-10), Lifetime = TimeSpan.FromDays(30) });
    }

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign)]
    [InlineData(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.CrlSign)]
    public void ALeafThatMaySignCertificatesOrCrls_IsRefused_EvenWithoutTheCaFlag(X509KeyUsageFlags usage)
    {
        // X509-SVID §4.3: keyCertSign and cRLSign are CA usages; basicConstraints CA=false does not make them harmless.
        using var leaf = IssueLeaf(_root.Certificate, "spiffe://a.test/ns/shop/sa/orders", usage);

        AssertInvalid(Validate(leaf, Bundles(_root.Certificate)), PeerCertificateFailures.LeafIsCa);
    }

    [Fact]
    public void AnIntermediateThePeerSends_CompletesTheChain_AndOnlyIt()
    {
        using var intermediate = IssueIntermediate(_root.Certificate);
        using var leaf = IssueLeaf(intermediate, "spiffe://a.test/ns/shop/sa/orders", X509KeyUsageFlags.DigitalSignature);
        var bundles = Bundles(_root.Certificate);
        var presented = new X509Certificate2Collection { leaf, PublicOnly(intermediate) };

        var withIntermediate = PeerCertificateValidator.Validate(leaf, presented, bundles, _clock);
        var leafAlone = PeerCertificateValidator.Validate(leaf, [leaf], bundles, _clock);

        Assert.True(withIntermediate.IsValid, withIntermediate.FailureReason);
        Assert.Equal("spiffe://a.test/ns/shop/sa/orders", withIntermediate.Identity.Value);
        AssertInvalid(leafAlone, PeerCertificateFailures.UntrustedChain);
    }

    [Fact]
    public void AMissingIntermediate_IsNeverFetched_FromTheLeafsAuthorityInformationAccess()
    {
        // A handshake never waits on the network: the caIssuers URL points at a listener that must see no connection.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var intermediate = IssueIntermediate(_root.Certificate);
        using var leaf = IssueLeaf(intermediate, "spiffe://a.test/ns/shop/sa/orders", X509KeyUsageFlags.DigitalSignature,
            new X509AuthorityInformationAccessExtension(ocspUris: null, caIssuersUris: [$"http://127.0.0.1:{port}/intermediate.cer"]));

        var result = PeerCertificateValidator.Validate(leaf, null, Bundles(_root.Certificate), _clock);

        AssertInvalid(result, PeerCertificateFailures.UntrustedChain);
        Assert.False(listener.Pending(), "the validator connected to the certificate's caIssuers URL");
    }

    [Fact]
    public void ATrustDomainWithAnEmptyBundle_IsUnknown_NotTriedAgainstNoAnchors()
    {
        using var leaf = _root.IssueWorkload(SpiffeId.Parse("spiffe://a.test/ns/shop/sa/orders"));
        var bundles = new TrustBundleSet(new Dictionary<string, X509Certificate2Collection> { ["a.test"] = [] }, [_root.Certificate]);

        Assert.Equal(TrustBundleLookup.UnknownTrustDomain, bundles.Lookup("a.test", out _));
        AssertInvalid(Validate(leaf.Certificate, bundles), PeerCertificateFailures.UnknownTrustDomain + "/a.test");
    }

    [Fact]
    public async Task AFederatedTrustDomainWithoutItsBundle_IsUnavailable_AndNeverFallsBackToTheAnyDomainBundle()
    {
        // The any-trust-domain bundle holds the very CA that issued the certificate: still refused, with the reason
        // that tells an operator the federation endpoint is the problem.
        using var http = new HttpClient();
        await using var source = new FederatedBundleSource("a.test", new TrustBundleEndpointConfig { Endpoint = "https://127.0.0.1:9/bundle" },
            http, _clock, NullLogger.Instance);
        using var leaf = _root.IssueWorkload(SpiffeId.Parse("spiffe://a.test/ns/shop/sa/orders"));
        var bundles = new TrustBundleSet(new Dictionary<string, X509Certificate2Collection>(), [_root.Certificate],
            new Dictionary<string, FederatedBundleSource> { ["a.test"] = source });

        Assert.Equal(TrustBundleLookup.Unavailable, bundles.Lookup("a.test", out var anchors));
        Assert.Null(anchors);
        AssertInvalid(Validate(leaf.Certificate, bundles), PeerCertificateFailures.BundleUnavailable + "/a.test");
    }

    private PeerCertificateResult Validate(X509Certificate2 leaf, TrustBundleSet bundles) =>
        PeerCertificateValidator.Validate(leaf, null, bundles, _clock);

    private static TrustBundleSet Bundles(X509Certificate2 root) =>
        new(new Dictionary<string, X509Certificate2Collection> { ["a.test"] = [PublicOnly(root)] }, null);

    private static X509Certificate2 PublicOnly(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);

    private static X509Certificate2 IssueIntermediate(X509Certificate2 issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=intermediate", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        using var issued = request.Create(issuer, s_now.AddDays(-5), s_now.AddDays(5), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 IssueLeaf(X509Certificate2 issuer, string uri, X509KeyUsageFlags usage, params X509Extension[] extra)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=workload", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(uri));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        foreach (var extension in extra)
        {
            request.CertificateExtensions.Add(extension);
        }

        return request.Create(issuer, s_now.AddHours(-1), s_now.AddHours(1), RandomNumberGenerator.GetBytes(16));
    }

    private static void AssertInvalid(PeerCertificateResult result, string detail)
    {
        Assert.False(result.IsValid);
        Assert.Equal(ReasonCodes.PeerCertificateInvalid + ":" + detail, result.FailureReason);
    }
}
