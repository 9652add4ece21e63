using Gatehouse.Proxy.ExtAuthz;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>Unit tests of the gRPC wire helpers (PROTOCOL-HTTP2.md).</summary>
public sealed class ExtAuthzGrpcProtocolTests
{
    [Theory]
    [InlineData("200m", 200 * TimeSpan.TicksPerMillisecond)]
    [InlineData("1S", TimeSpan.TicksPerSecond)]
    [InlineData("2M", 2 * TimeSpan.TicksPerMinute)]
    [InlineData("1H", TimeSpan.TicksPerHour)]
    [InlineData("1500u", 15_000)]
    [InlineData("99999999n", 999_999)]
    [InlineData("0m", 0)]
    public void TryParseTimeout_Valid(string value, long ticks)
    {
        Assert.True(GrpcProtocol.TryParseTimeout(value, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("123456789m")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    public void TryParseTimeout_Invalid(string value) => Assert.False(GrpcProtocol.TryParseTimeout(value, out _));

    [Theory]
    [InlineData("plain message", "plain message")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("é", "%C3%A9")]
    [InlineData("line\nbreak", "line%0Abreak")]
    public void PercentEncode(string message, string encoded) => Assert.Equal(encoded, GrpcProtocol.PercentEncode(message));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("APPLICATION/GRPC; foo=bar", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void ContentType(string? contentType, bool accepted) => Assert.Equal(accepted, GrpcProtocol.IsGrpcProtoContentType(contentType));

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
