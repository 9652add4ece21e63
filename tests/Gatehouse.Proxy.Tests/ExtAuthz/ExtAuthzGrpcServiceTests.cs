using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Google.Protobuf;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// The gRPC Check call (Grpc.AspNetCore) over real HTTP/2 (h2c) on Kestrel, driven with golden CheckRequest bytes
/// encoded by protoc from Envoy field numbers (Golden/regen.sh) through a raw HTTP/2 client, responses decoded and
/// checked field by field. Where a case probes the gRPC wire itself, the expected status is Grpc.AspNetCore's.
/// </summary>
public sealed class ExtAuthzGrpcServiceTests : IAsyncLifetime
{
    private readonly ScriptedDecider _decider = new(ScriptedDecider.Allow());
    private ExtAuthzServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await ExtAuthzServer.StartGrpcAsync(_decider.Decide, new ExtAuthzOptions { ListenerName = "authz", MaxReceiveMessageBytes = 64 * 1024 });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<GrpcCallResult> CallAsync(byte[] body, string path = GrpcTestClient.CheckPath, string contentType = "application/grpc",
        IEnumerable<KeyValuePair<string, string>>? headers = null) =>
        GrpcTestClient.CallAsync(_server.Client, body, path, contentType, headers);

    [Fact]
    public async Task Golden_AllowMtls_MapsAttributes()
    {
        _decider.Answer(ScriptedDecider.Allow(("x-gatehouse-sub", "alice"), ("X-Gatehouse-Scopes", "orders.read")));

        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));

        Assert.Equal(HttpStatusCode.OK, result.HttpStatus);
        Assert.Equal(0, result.GrpcStatus);
        var request = _decider.LastRequest!;
        Assert.Equal("GET", request.Method);
        Assert.Equal("api.example.com", request.Host);
        Assert.Equal(8443, request.Port);
        Assert.Equal("https", request.Scheme);
        Assert.Equal("/orders/42", request.RawPath);
        Assert.Equal("?expand=items&x=%2F", request.Query);
        Assert.Equal("Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", request.GetHeader("Authorization"));
        Assert.Equal("api.example.com:8443".ToUpperInvariant().Length, request.GetHeader(":authority")!.Length);
        Assert.Equal("application/json, text/plain", request.GetHeader("ACCEPT"));
        Assert.Null(request.GetHeader("x-absent"));
        Assert.Equal(IPAddress.Parse("10.1.2.3"), request.SourceAddress);
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/checkout", request.PeerIdentity);
        Assert.Equal(ExpectedThumbprint(), request.PeerCertificateThumbprint);
        Assert.Equal("authz", request.Listener);
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", request.TraceId);

        var response = result.Response!;
        Assert.Equal(0, response.Status.Code);
        Assert.Equal(CheckResponse.HttpResponseOneofCase.OkResponse, response.HttpResponseCase);
        var ok = response.OkResponse;
        Assert.Collection(ok.Headers,
            h => { Assert.Equal("x-gatehouse-sub", h.Header.Key); Assert.Equal("alice", h.Header.Value); Assert.False(h.Append); },
            h => { Assert.Equal("x-gatehouse-scopes", h.Header.Key); Assert.Equal("orders.read", h.Header.Value); Assert.False(h.Append); });
        Assert.Equal(["authorization"], ok.HeadersToRemove);
        Assert.Equal("allow", response.DynamicMetadata.Fields["gatehouse_outcome"].StringValue);
        Assert.Equal("policy.allow_matched:orders-read/rule0", response.DynamicMetadata.Fields["gatehouse_reasons"].ListValue.Values[0].StringValue);
        Assert.Equal("orders", response.DynamicMetadata.Fields["gatehouse_route"].StringValue);
    }

    [Fact]
    public async Task Golden_Deny401_ReturnsUnauthenticatedWithChallengeAndBody()
    {
        _decider.Answer(ScriptedDecider.Deny(401, ReasonCodes.TokenExpired, "Bearer error=\"invalid_token\""));

        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));

        Assert.Equal(0, result.GrpcStatus);
        var response = result.Response!;
        Assert.Equal(16, response.Status.Code); // UNAUTHENTICATED
        Assert.Equal("token.expired", response.Status.Message);
        Assert.Equal(CheckResponse.HttpResponseOneofCase.DeniedResponse, response.HttpResponseCase);
        var denied = response.DeniedResponse;
        Assert.Equal(401, (int)denied.Status.Code);
        Assert.Contains(denied.Headers, h => h.Header.Key == "www-authenticate" && h.Header.Value == "Bearer error=\"invalid_token\"");
        Assert.Contains(denied.Headers, h => h.Header.Key == "content-type" && h.Header.Value == "application/json");
        using var body = JsonDocument.Parse(denied.Body);
        Assert.Equal("unauthorized", body.RootElement.GetProperty("error").GetString());
        Assert.Equal("token.expired", body.RootElement.GetProperty("reasons")[0].GetString());
        Assert.Equal("deny", response.DynamicMetadata.Fields["gatehouse_outcome"].StringValue);
    }

    [Theory]
    [InlineData(403, 7)]
    [InlineData(503, 14)]
    [InlineData(400, 3)]
    [InlineData(404, 5)]
    public async Task Deny_MapsHttpStatusToRpcCode(int httpStatus, int rpcCode)
    {
        _decider.Answer(ScriptedDecider.Deny(httpStatus, ReasonCodes.ScopeMissing + ":orders.write"));

        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));

        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(rpcCode, result.Response!.Status.Code);
        Assert.Equal(httpStatus, (int)result.Response.DeniedResponse.Status.Code);
        // Details after ':' stay out of the client body by default, but are in the metadata.
        Assert.DoesNotContain("orders.write", result.Response.DeniedResponse.Body, StringComparison.Ordinal);
        Assert.Equal("scope.missing:orders.write", result.Response.DynamicMetadata.Fields["gatehouse_reasons"].ListValue.Values[0].StringValue);
    }

    [Fact]
    public async Task Golden_RawHeaders_MergesRepeatedKeys_AndReadsIpv6Source()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_raw_headers.bin")));

        Assert.Equal(0, result.GrpcStatus);
        var request = _decider.LastRequest!;
        Assert.Equal("POST", request.Method);
        Assert.Equal("shop.internal", request.Host);
        Assert.Equal(8080, request.Port); // from destination.address when :authority has no port
        Assert.Equal("/cart/items", request.RawPath);
        Assert.Equal("", request.Query);
        Assert.Equal("a,b", request.GetHeader("X-Multi"));
        Assert.Equal("Bearer opaque-token-123", request.GetHeader("authorization"));
        Assert.Equal(IPAddress.Parse("2001:db8::7"), request.SourceAddress);
        Assert.Null(request.PeerIdentity);
        Assert.Null(request.PeerCertificateThumbprint);
    }

    [Fact]
    public async Task Golden_NetworkFilter_WithoutHttpAttributes_IsDenied()
    {
        var calls = _decider.Calls;
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_network_filter.bin")));

        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(7, result.Response!.Status.Code);
        Assert.Equal(403, (int)result.Response.DeniedResponse.Status.Code);
        Assert.Equal(calls, _decider.Calls);
    }

    [Fact]
    public async Task Golden_UnknownFields_AreIgnored()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_unknown_fields.bin")));

        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(0, result.Response!.Status.Code);
        var request = _decider.LastRequest!;
        Assert.Equal("DELETE", request.Method);
        Assert.Equal("/orders/7", request.RawPath);
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/checkout", request.PeerIdentity);
    }

    [Fact]
    public async Task EmptyCheckRequest_IsDenied_NotCrashed()
    {
        var result = await CallAsync(GrpcTestClient.Frame([]));

        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(7, result.Response!.Status.Code);
    }

    [Fact]
    public async Task WrongContentType_Is415WithGrpcStatusInternal()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")), contentType: "application/json");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, result.HttpStatus);
        Assert.Equal(13, result.GrpcStatus);
        Assert.Null(result.Response);
    }

    [Theory]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc; charset=utf-8")]
    public async Task ProtoContentTypes_AreAccepted(string contentType)
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")), contentType: contentType);
        Assert.Equal(0, result.GrpcStatus);
        Assert.NotNull(result.Response);
    }

    [Fact]
    public async Task UnknownMethod_IsUnimplemented()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")), path: "/envoy.service.auth.v2.Authorization/Check");

        Assert.Equal(HttpStatusCode.OK, result.HttpStatus);
        Assert.Equal(12, result.GrpcStatus);
    }

    [Fact]
    public async Task OversizedMessage_IsResourceExhausted_WithoutReadingIt()
    {
        var result = await CallAsync(GrpcTestClient.Frame(new byte[16], declaredLength: 10 * 1024 * 1024));

        Assert.Equal(8, result.GrpcStatus);
        Assert.Null(result.Response);
    }

    [Fact]
    public async Task OversizedMessage_ActuallySent_IsResourceExhausted()
    {
        var result = await CallAsync(GrpcTestClient.Frame(new byte[65 * 1024]));
        Assert.Equal(8, result.GrpcStatus);
    }

    [Fact]
    public async Task CompressedFlag_WithUnsupportedEncoding_IsUnimplemented()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin"), flag: 1), headers: [new("grpc-encoding", "snappy")]);

        Assert.Equal(12, result.GrpcStatus);
        // PROTOCOL-HTTP2.md "Compression": the server names the encodings it accepts.
        Assert.Contains("identity", result.Headers.GetValues("grpc-accept-encoding").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GzipCompressedRequest_IsDecompressed_AndDecided()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Golden.Bytes("check_allow_mtls.bin"));
        }

        var result = await CallAsync(GrpcTestClient.Frame(compressed.ToArray(), flag: 1), headers: [new("grpc-encoding", "gzip")]);

        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(0, result.Response!.Status.Code);
        Assert.Equal("/orders/42", _decider.LastRequest!.RawPath);
    }

    [Fact]
    public async Task CompressedFlag_WithoutEncoding_IsInternal()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin"), flag: 1));
        Assert.Equal(13, result.GrpcStatus);
    }

    [Fact]
    public async Task InvalidFlagByte_IsAGrpcError()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin"), flag: 7));
        Assert.NotNull(result.GrpcStatus);
        Assert.NotEqual(0, result.GrpcStatus);
        Assert.Null(result.Response);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 100, 10, 3 })]
    public async Task TruncatedFrames_AreInternal(byte[] body)
    {
        var result = await CallAsync(body);
        Assert.Equal(13, result.GrpcStatus);
    }

    [Fact]
    public async Task TwoMessages_InAUnaryCall_AreInternal()
    {
        var one = GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin"));
        var result = await CallAsync([.. one, .. one]);
        Assert.Equal(13, result.GrpcStatus);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x05, 0x01 })]          // field 1 length 5, only 1 byte follows
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // varint too long
    [InlineData(new byte[] { 0x0B })]                      // start-group wire type, never closed
    public async Task MalformedProtobuf_IsAGrpcError_NeverADecision(byte[] message)
    {
        // Grpc.AspNetCore answers a message its deserializer rejects with a gRPC error before the service runs (no
        // CheckResponse). Envoy never sends one; a gRPC error is never an allow unless failure_mode_allow says so.
        var calls = _decider.Calls;
        var result = await CallAsync(GrpcTestClient.Frame(message));
        Assert.NotNull(result.GrpcStatus);
        Assert.NotEqual(0, result.GrpcStatus);
        Assert.Null(result.Response);
        Assert.Equal(calls, _decider.Calls);
    }

    [Fact]
    public async Task RandomGarbage_NeverCrashes()
    {
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            var message = new byte[random.Next(0, 300)];
            random.NextBytes(message);
            var body = random.Next(4) == 0 ? message : GrpcTestClient.Frame(message);
            var result = await CallAsync(body);
            Assert.Equal(HttpStatusCode.OK, result.HttpStatus);
            Assert.NotNull(result.GrpcStatus);
        }

        // Still serving.
        var ok = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));
        Assert.Equal(0, ok.GrpcStatus);
    }

    [Fact]
    public async Task GrpcTimeout_ExpiresWhileDeciding_IsDeniedInBand_BeforeTheDeadline()
    {
        // Envoy's own timeout would be an error (failure_mode_allow → allow): Gatehouse answers a denial just before it.
        var never = new TaskCompletionSource<Decision>();
        _decider.Script((_, _) => new ValueTask<Decision>(never.Task));

        // Note: 1 s gives the largest margin (50 ms) for the answer to be written before the gRPC library's own deadline;
        // at 300 ms (30 ms) a busy 2-core CI machine once missed it.
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")), headers: [new("grpc-timeout", "1S")]);

        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(14, result.Response!.Status.Code);
        Assert.Equal(503, (int)result.Response.DeniedResponse.Status.Code);
        Assert.Equal("server.decision_timeout", result.Response.Status.Message);
    }

    [Theory]
    [InlineData(200, 180)]
    [InlineData(1000, 950)]
    [InlineData(5, 4)]
    [InlineData(0, 0)]
    public void InBandDeadline_LeavesATenthOfTheBudget_Between1And50Ms(int budgetMs, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ExtAuthzGrpcService.InBandDeadline(TimeSpan.FromMilliseconds(budgetMs)));

    [Fact]
    public async Task GrpcTimeout_NotReached_Decides()
    {
        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")), headers: [new("grpc-timeout", "5S")]);
        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(0, result.Response!.Status.Code);
    }

    [Fact]
    public async Task EngineThrows_FailsClosedInBand_With503()
    {
        _decider.Script((_, _) => throw new InvalidOperationException("boom"));

        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));

        // OK at the transport, so Envoy's failure_mode_allow can never turn it into an allow.
        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal(14, result.Response!.Status.Code);
        Assert.Equal(503, (int)result.Response.DeniedResponse.Status.Code);
        Assert.Equal("server.internal_error", result.Response.Status.Message);
    }

    [Fact]
    public async Task EngineThrowsAsync_FailsClosedInBand_With503()
    {
        _decider.Script(async (_, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("boom");
        });

        var result = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));
        Assert.Equal(14, result.Response!.Status.Code);
    }

    [Fact]
    public async Task Http11_IsRejectedWith426()
    {
        await using var server = await ExtAuthzServer.StartGrpcAsync(
            _decider.Decide, protocols: Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
        var result = await GrpcTestClient.CallAsync(server.Client, GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")), version: HttpVersion.Version11);

        Assert.Equal(HttpStatusCode.UpgradeRequired, result.HttpStatus);
        Assert.Equal(13, result.GrpcStatus);
    }

    [Fact]
    public async Task UnknownService_IsUnimplemented()
    {
        var result = await CallAsync(GrpcTestClient.Frame([]), path: "/x/é");
        Assert.Equal(12, result.GrpcStatus);
    }

    [Fact]
    public async Task MessageOverTheListenersSmallerLimit_IsResourceExhausted_EvenUnderTheLibrarysLimit()
    {
        // Two listeners may set different max_receive_message_bytes; the library enforces the largest, the service
        // the listener's own.
        await using var server = await ExtAuthzServer.StartGrpcAsync(_decider.Decide, new ExtAuthzOptions { MaxReceiveMessageBytes = 64 * 1024 }, maxReceiveMessageBytes: 1024 * 1024);
        var small = await GrpcTestClient.CallAsync(server.Client, GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));
        Assert.Equal(0, small.GrpcStatus);

        var large = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/", Body = new string('x', 100 * 1024) } } } };
        var result = await GrpcTestClient.CallAsync(server.Client, GrpcTestClient.Frame(large));
        Assert.Equal(8, result.GrpcStatus);
        Assert.Null(result.Response);
    }

    [Fact]
    public async Task HeaderValues_WithControlCharacters_NeverReachEnvoy()
    {
        // Unsafe values are refused (the shared encoder's rule), and the claim header is then removed like an unset one.
        _decider.Answer(ScriptedDecider.AllowRemoving(["authorization", "x-gatehouse-sub"], ("x-gatehouse-sub", "al\r\nx-injected: 1\u00e9")));
        var allowed = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));
        Assert.Empty(allowed.Response!.OkResponse.Headers);
        Assert.Equal(["authorization", "x-gatehouse-sub"], allowed.Response.OkResponse.HeadersToRemove);

        _decider.Answer(ScriptedDecider.Deny(401, ReasonCodes.TokenExpired, "Bearer realm=\"a\r\nb\""));
        var denied = await CallAsync(GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin")));
        Assert.DoesNotContain(denied.Response!.DeniedResponse.Headers, h => h.Header.Key == "www-authenticate");
        Assert.All(denied.Response.DeniedResponse.Headers, h => Assert.DoesNotContain(h.Header.Value, c => c is < ' ' or > '~'));
    }

    [Fact]
    public async Task ManyConcurrentCalls_AllAnswered()
    {
        var body = GrpcTestClient.Frame(Golden.Bytes("check_allow_mtls.bin"));
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => CallAsync(body)));
        Assert.All(results, r => Assert.Equal(0, r.Response!.Status.Code));
    }

    [Fact]
    public async Task RequestBuiltWithGeneratedClasses_RoundTrips()
    {
        var check = new CheckRequest
        {
            Attributes = new AttributeContext
            {
                Request = new AttributeContext.Types.Request
                {
                    Http = new AttributeContext.Types.HttpRequest { Method = "PUT", Path = "/a/b?c", Host = "[2001:DB8::1]:9443", Scheme = "https" },
                },
            },
        };

        var result = await CallAsync(GrpcTestClient.Frame(check));

        Assert.Equal(0, result.GrpcStatus);
        Assert.Equal("[2001:db8::1]", _decider.LastRequest!.Host);
        Assert.Equal(9443, _decider.LastRequest.Port);
        Assert.Equal("/a/b", _decider.LastRequest.RawPath);
        Assert.Equal("?c", _decider.LastRequest.Query);
    }

    private static string ExpectedThumbprint()
    {
        // Independent of the handler's PEM parsing: X509Certificate2 + SHA-256 of the DER.
        using var certificate = X509Certificate2.CreateFromPem(Golden.Text("peer-cert.pem"));
        return System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(certificate.RawData));
    }
}
