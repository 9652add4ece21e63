using Gatehouse.Proxy.ExtAuthz;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>Unit tests of what the ext_authz adapters read from Envoy's attributes: trace ids, peer identities, certificates.</summary>
public sealed class ExtAuthzPeerCertificatesTests
{
    [Fact]
    public void TraceId_FromTraceparent()
    {
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", PeerCertificates.TraceIdFromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        Assert.Null(PeerCertificates.TraceIdFromTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
        Assert.Null(PeerCertificates.TraceIdFromTraceparent("garbage"));
    }

    [Theory]
    [InlineData("spiffe://cluster.local/ns/a/sa/b", true)]
    [InlineData("spiffe://", false)]
    [InlineData("CN=checkout", false)]
    [InlineData("checkout.shop.svc", false)]
    public void SpiffeIdOnly(string principal, bool isSpiffe) =>
        Assert.Equal(isSpiffe ? principal : null, PeerCertificates.SpiffeIdOrNull(principal));

    [Fact]
    public void Thumbprint_FromGarbage_IsNull()
    {
        Assert.Null(PeerCertificates.ThumbprintFromUrlEncodedPem("not a pem"));
        Assert.Null(PeerCertificates.ThumbprintFromUrlEncodedPem("%E0%A4%A"));
        Assert.Null(PeerCertificates.ThumbprintFromUrlEncodedPem("-----BEGIN%20PRIVATE%20KEY-----%0AAAAA%0A-----END%20PRIVATE%20KEY-----"));
    }
}
