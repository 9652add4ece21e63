using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// RFC 8705 §3 certificate-bound tokens through the ext_authz gRPC listener, with the real engine (independently of the
/// gateway's mTLS test): the peer certificate is the one Envoy reports in <c>source.certificate</c>; a token whose
/// <c>cnf.x5t#S256</c> names it is accepted, one naming another certificate or arriving without a certificate is
/// <c>token.binding_mismatch</c>, and a route requiring bound tokens refuses an unbound one.
/// </summary>
public sealed class ExtAuthzCertificateBindingTests
{
    private static readonly string s_pem = Golden.Text("peer-cert.pem");

    private static string Config(string upstream, string jwks) => $$"""
        version: 1
        issuers:
          corp:
            issuer: {{TestIssuerKeys.Issuer}}
            jwks_file: {{jwks}}
            audiences: [{{TestIssuerKeys.Audience}}]
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0" }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
          - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0" }
        routes:
          - name: bound
            match: { path_prefix: /bound }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true, require_bound_tokens: true }
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true }
        policies: {}
        """;

    private static string Thumbprint()
    {
        using var certificate = X509Certificate2.CreateFromPem(s_pem);
        return Base64Url.EncodeToString(SHA256.HashData(certificate.RawData));
    }

    private static string BoundTo(GatewayHarness gateway, string thumbprint) =>
        gateway.Keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, object> { ["x5t#S256"] = thumbprint } });

    private static async Task<CheckResponse> CheckAsync(GatewayHarness gateway, string path, string token, bool withCertificate)
    {
        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = path, Host = "api.example.com", Scheme = "https" };
        http.Headers["authorization"] = "Bearer " + token;
        var source = new AttributeContext.Types.Peer();
        if (withCertificate)
        {
            source.Certificate = Uri.EscapeDataString(s_pem);
        }

        var check = new CheckRequest { Attributes = new AttributeContext { Source = source, Request = new AttributeContext.Types.Request { Http = http } } };
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = gateway.Server.GetListenerUri("grpc") };
        var result = await GrpcTestClient.CallAsync(client, GrpcTestClient.Frame(check));
        Assert.Equal(0, result.GrpcStatus);
        return result.Response!;
    }

    [Fact]
    public async Task TokenBoundToThePeersCertificate_IsAllowed()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config);

        var response = await CheckAsync(gateway, "/bound/1", BoundTo(gateway, Thumbprint()), withCertificate: true);

        Assert.Equal(0, response.Status.Code);
    }

    [Fact]
    public async Task TokenBoundToAnotherCertificate_IsABindingMismatch()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config);
        var other = Base64Url.EncodeToString(SHA256.HashData("another certificate"u8));

        var response = await CheckAsync(gateway, "/orders/1", BoundTo(gateway, other), withCertificate: true);

        Assert.NotEqual(0, response.Status.Code);
        Assert.Equal(401, (int)response.DeniedResponse.Status.Code);
        Assert.Equal("token.binding_mismatch", response.Status.Message);
    }

    [Fact]
    public async Task BoundTokenWithoutAClientCertificate_IsABindingMismatch()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config);

        var response = await CheckAsync(gateway, "/orders/1", BoundTo(gateway, Thumbprint()), withCertificate: false);

        Assert.Equal("token.binding_mismatch", response.Status.Message);
        Assert.Equal(401, (int)response.DeniedResponse.Status.Code);
    }

    [Fact]
    public async Task UnboundToken_OnARouteRequiringBinding_IsRefused_EvenWithACertificate()
    {
        await using var gateway = await GatewayHarness.StartAsync(Config);

        var response = await CheckAsync(gateway, "/bound/1", gateway.Keys.Mint(), withCertificate: true);

        Assert.Equal("token.binding_required", response.Status.Message);
        var allowed = await CheckAsync(gateway, "/orders/1", gateway.Keys.Mint(), withCertificate: true);
        Assert.Equal(0, allowed.Status.Code);
    }
}
