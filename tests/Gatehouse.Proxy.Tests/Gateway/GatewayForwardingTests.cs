using System.Net;
using Gatehouse.Model;
using Gatehouse.Tests.TestSupport;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// Forwarding through YARP's IHttpForwarder: streaming bodies both ways, hop-by-hop headers removed, upstream
/// failures mapped to 502/504 with a short JSON body. These also prove the YARP assembly reference works.
/// </summary>
public sealed class GatewayForwardingTests
{
    [Fact]
    public async Task LargeBodies_StreamBothWays()
    {
        const int size = 8 * 1024 * 1024;
        await using var gateway = await GatewayHarness.StartAsync(upstreamBehaviour: async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            var chunk = new byte[64 * 1024];
            for (var sent = 0; sent < size; sent += chunk.Length)
            {
                await context.Response.Body.WriteAsync(chunk);
            }
        });
        var token = gateway.Keys.Mint();

        using var response = await gateway.GetAsync("/orders/upload", token, request =>
            request.Content = new StreamContent(new ZeroStream(size)), HttpMethod.Post);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(size, gateway.Upstream.Last().BodyLength);
        Assert.Equal(size, body.Length);
    }

    [Fact]
    public async Task HopByHopHeaders_AreNotForwarded()
    {
        await using var gateway = await GatewayHarness.StartAsync();

        using var response = await gateway.GetAsync("/orders", gateway.Keys.Mint(), request =>
        {
            request.Headers.TryAddWithoutValidation("Keep-Alive", "timeout=5");
            request.Headers.TryAddWithoutValidation("Proxy-Connection", "keep-alive");
            request.Headers.TryAddWithoutValidation("TE", "trailers");
            request.Headers.TryAddWithoutValidation("X-Custom", "kept");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = gateway.Upstream.Last().Headers;
        Assert.False(headers.ContainsKey("keep-alive"));
        Assert.False(headers.ContainsKey("proxy-connection"));
        Assert.Equal("kept", headers["x-custom"]);
    }

    [Fact]
    public async Task HeadersNamedInConnection_AreNotForwarded()
    {
        // RFC 9110 §7.6.1: a proxy removes every header field the Connection header names.
        await using var gateway = await GatewayHarness.StartAsync();

        using var response = await gateway.GetAsync("/orders", gateway.Keys.Mint(), request =>
        {
            request.Headers.TryAddWithoutValidation("Connection", "x-hop");
            request.Headers.TryAddWithoutValidation("X-Hop", "secret-for-the-next-hop-only");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(gateway.Upstream.Last().Headers.ContainsKey("x-hop"));
    }

    [Fact]
    public async Task ConnectionNominatingGatehouseHeaders_CannotRemoveThem_AndBadOptionsAreIgnored()
    {
        // The caller may nominate any name; Gatehouse's own headers are set after the removal, and options that
        // are not header names (or framing) change nothing and never fail the request.
        await using var gateway = await GatewayHarness.StartAsync();

        // Note: raw bytes — HttpClient rewrites a Connection header that carries keep-alive.
        var response = await Gatehouse.Tests.Contract.RawHttp.SendAsync(gateway.Server.GetListenerUri("edge"), "GET", "/orders", headers:
        [
            "Authorization: Bearer " + gateway.Keys.Mint(),
            "Connection: keep-alive, x-forwarded-for, traceparent, bad name, x-hop2, content-length",
            "X-Hop2: gone",
            "X-Stays: here",
        ]);

        Assert.Equal(200, response.Status);
        var received = gateway.Upstream.Last().Headers;
        Assert.False(received.ContainsKey("x-hop2"));
        Assert.Equal("here", received["x-stays"]);
        Assert.Equal("127.0.0.1", received["x-forwarded-for"]);
        Assert.True(received.ContainsKey("traceparent"));
    }

    [Fact]
    public async Task HeadersTheUpstreamNamesInConnection_DoNotReachTheClient()
    {
        await using var gateway = await GatewayHarness.StartAsync(upstreamBehaviour: async context =>
        {
            context.Response.Headers.Connection = "x-upstream-hop";
            context.Response.Headers["X-Upstream-Hop"] = "for this connection only";
            context.Response.Headers["X-Upstream-Kept"] = "end to end";
            await context.Response.WriteAsync("ok");
        });

        using var response = await gateway.GetAsync("/orders", gateway.Keys.Mint());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Upstream-Hop"));
        Assert.Equal("end to end", Assert.Single(response.Headers.GetValues("X-Upstream-Kept")));
    }

    [Fact]
    public async Task UpstreamRefused_Returns502_WithJsonBody()
    {
        await using var gateway = await GatewayHarness.StartAsync();

        using var response = await gateway.GetAsync("/dead");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("upstream_unavailable", body, StringComparison.Ordinal);
        Assert.Contains($"\"{Gatehouse.Model.ReasonCodes.UpstreamUnavailable}\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamTimeout_Returns504()
    {
        await using var gateway = await GatewayHarness.StartAsync(upstreamBehaviour: async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });

        using var response = await gateway.GetAsync("/orders/slow", gateway.Keys.Mint());

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("upstream_timeout", body, StringComparison.Ordinal);
        Assert.Contains($"\"{Gatehouse.Model.ReasonCodes.UpstreamTimeout}\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownRoute_Returns404()
    {
        await using var gateway = await GatewayHarness.StartAsync();

        using var response = await gateway.GetAsync("/nowhere");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("route.not_found", response.Headers.GetValues("x-gatehouse-reason").Single());
    }

    /// <summary>A read-only stream of zeros of a fixed length (no buffer of the whole body).</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
