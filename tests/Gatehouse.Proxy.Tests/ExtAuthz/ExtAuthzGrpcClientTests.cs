using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.DevCa;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Gatehouse.Tests.TestSupport;
using Gatehouse.Tests.Tls;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// A real gRPC client (Grpc.Net.Client) against a running Gatehouse: Check over h2c and over mutual TLS,
/// grpc.health.v1.Health (Check, Watch) following readiness, reflection only where a listener enables it, and none of
/// these services reachable on a gateway listener that shares the same Kestrel server.
/// </summary>
public sealed class ExtAuthzGrpcClientTests : IAsyncLifetime
{
    // The wire path Envoy calls, written out independently of the generated server code.
    private static readonly Method<CheckRequest, CheckResponse> s_check = new(
        MethodType.Unary,
        "envoy.service.auth.v3.Authorization",
        "Check",
        Marshallers.Create(static (CheckRequest m) => m.ToByteArray(), CheckRequest.Parser.ParseFrom),
        Marshallers.Create(static (CheckResponse m) => m.ToByteArray(), CheckResponse.Parser.ParseFrom));

    private TestPki _pki = null!;
    private IssuedCertificate _envoy = null!;
    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync()
    {
        _pki = new TestPki();
        var (certificate, key) = _pki.Write("authz", _pki.Workload("spiffe://a.test/ns/authz/sa/gatehouse"));
        _envoy = _pki.Workload("spiffe://a.test/ns/mesh/sa/envoy");
        _gateway = await GatewayHarness.StartAsync((u, j) => $$"""
            version: 1
            issuers:
              corp: { issuer: "{{TestIssuerKeys.Issuer}}", jwks_file: {{j}}, audiences: [{{TestIssuerKeys.Audience}}], algorithms: [RS256, ES256] }
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
              - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0" }
              - { name: grpc-tls, mode: ext_authz_grpc, address: "127.0.0.1:0", tls: { certificate: {{certificate}}, key: {{key}}, client_ca: {{_pki.BundleA}}, client_certificate: require } }
              - { name: grpc-reflect, mode: ext_authz_grpc, address: "127.0.0.1:0", ext_authz: { reflection: true } }
            routes:
              - name: orders
                match: { path_prefix: /orders }
                upstream: {{u}}
                authentication: { issuers: [corp], require_token: true, required_scopes: [orders.read] }
                claim_headers: { x-auth-subject: sub }
              - name: grpc-passthrough
                match: { path_prefix: /envoy.service.auth.v3.Authorization }
                upstream: {{u}}
                authentication: { require_token: false }
            policies: {}
            """);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        _envoy.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task H2c_Check_AllowsWithClaimHeaders_AndDeniesWithoutAToken()
    {
        using var channel = GrpcChannel.ForAddress(_gateway.Server.GetListenerUri("grpc"));

        var allowed = await CheckAsync(channel, "Bearer " + _gateway.Keys.Mint());
        Assert.Equal(0, allowed.Status.Code);
        var header = Assert.Single(allowed.OkResponse.Headers);
        Assert.Equal(("x-auth-subject", "checkout"), (header.Header.Key, header.Header.Value));
        Assert.Equal(["authorization"], allowed.OkResponse.HeadersToRemove);

        var denied = await CheckAsync(channel, authorization: null);
        Assert.Equal(16, denied.Status.Code); // UNAUTHENTICATED
        Assert.Equal(401, (int)denied.DeniedResponse.Status.Code);
        Assert.Contains(denied.DeniedResponse.Headers, h => h.Header.Key == "www-authenticate");
    }

    [Fact]
    public async Task MutualTls_Check_Allows()
    {
        using var channel = GrpcChannel.ForAddress(TlsUri("grpc-tls"), new GrpcChannelOptions { HttpHandler = TlsHandler(_envoy.Certificate) });

        var allowed = await CheckAsync(channel, "Bearer " + _gateway.Keys.Mint());

        Assert.Equal(0, allowed.Status.Code);
    }

    [Fact]
    public async Task MutualTls_WithoutAClientCertificate_GetsNoAnswer()
    {
        using var channel = GrpcChannel.ForAddress(TlsUri("grpc-tls"), new GrpcChannelOptions { HttpHandler = TlsHandler(clientCertificate: null) });

        var failure = await Assert.ThrowsAsync<RpcException>(() => CheckAsync(channel, "Bearer " + _gateway.Keys.Mint()));

        // TLS 1.3: the server refuses the missing certificate after the client already sees the handshake as done, so
        // the client observes the connection failing (UNAVAILABLE) or its stream reset (INTERNAL) — never an answer.
        Assert.Contains(failure.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
    }

    [Fact]
    public async Task Health_Check_IsServing_ForTheServerAndTheAuthorizationService_OverH2cAndTls()
    {
        using var h2c = GrpcChannel.ForAddress(_gateway.Server.GetListenerUri("grpc"));
        using var tls = GrpcChannel.ForAddress(TlsUri("grpc-tls"), new GrpcChannelOptions { HttpHandler = TlsHandler(_envoy.Certificate) });

        foreach (var channel in new[] { h2c, tls })
        {
            var health = new Health.HealthClient(channel);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), deadline: Deadline())).Status);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "envoy.service.auth.v3.Authorization" }, deadline: Deadline())).Status);
            var unknown = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "nope" }, deadline: Deadline()));
            Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        }
    }

    [Fact]
    public async Task Health_Watch_StreamsServing()
    {
        using var channel = GrpcChannel.ForAddress(_gateway.Server.GetListenerUri("grpc"));
        using var watch = new Health.HealthClient(channel).Watch(new HealthCheckRequest(), deadline: Deadline());

        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Reflection_IsOffByDefault_AndListsTheServicesWhereEnabled()
    {
        using var off = GrpcChannel.ForAddress(_gateway.Server.GetListenerUri("grpc"));
        // Note: nothing is written first. The server ends an unimplemented call at once, and a client write racing
        // that end would surface as CANCELLED instead of the server's status.
        using (var call = new ServerReflection.ServerReflectionClient(off).ServerReflectionInfo(deadline: Deadline()))
        {
            var unimplemented = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unimplemented, unimplemented.StatusCode);
        }

        using var on = GrpcChannel.ForAddress(_gateway.Server.GetListenerUri("grpc-reflect"));
        var services = await ListServicesAsync(on);
        Assert.Contains("envoy.service.auth.v3.Authorization", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task GatewayListener_NeverServesTheGrpcServices_ItForwardsOrRoutesThem()
    {
        // The same Kestrel server hosts both listeners: a gRPC-shaped request on the gateway goes to the gateway.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/envoy.service.auth.v3.Authorization/Check")
        {
            Content = new ByteArrayContent(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin"))),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var forwarded = await _gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
        Assert.False(forwarded.Headers.Contains("grpc-status"));
        Assert.Equal("/envoy.service.auth.v3.Authorization/Check", _gateway.Upstream.Last().Path);

        foreach (var path in new[] { "/grpc.health.v1.Health/Check", "/unknown.Service/Method", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo" })
        {
            using var probe = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(GrpcTestClient.Frame([])) };
            probe.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
            using var routed = await _gateway.Client.SendAsync(probe);

            Assert.Equal(HttpStatusCode.NotFound, routed.StatusCode);
            Assert.Equal("route.not_found", routed.Headers.GetValues("x-gatehouse-reason").Single());
            Assert.False(routed.Headers.Contains("grpc-status"));
        }
    }

    [Fact]
    public async Task GrpcListener_AnswersPlainHttpWith404()
    {
        using var client = new HttpClient { BaseAddress = _gateway.Server.GetListenerUri("grpc"), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(10);

    private static async Task<CheckResponse> CheckAsync(GrpcChannel channel, string? authorization)
    {
        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/1", Host = "api.example.com", Scheme = "https" };
        if (authorization is not null)
        {
            http.Headers["authorization"] = authorization;
        }

        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
        return await channel.CreateCallInvoker().AsyncUnaryCall(s_check, null, new CallOptions(deadline: Deadline()), check);
    }

    private static async Task<List<string>> ListServicesAsync(GrpcChannel channel)
    {
        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: Deadline());
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        return [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
    }

    private Uri TlsUri(string listener) => new UriBuilder(_gateway.Server.GetListenerUri(listener)) { Host = "localhost" }.Uri;

    /// <summary>Presents <paramref name="clientCertificate"/> and trusts only the test CA for the server.</summary>
    private SocketsHttpHandler TlsHandler(X509Certificate2? clientCertificate)
    {
        var ca = X509CertificateLoader.LoadCertificate(_pki.CaA.Certificate.RawData);
        return new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return certificate is not null && chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                },
            },
        };
    }
}
