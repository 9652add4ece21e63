using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Google.Protobuf;

namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>The observable result of one gRPC call: HTTP status, grpc-status/-message and the decoded response.</summary>
internal sealed record GrpcCallResult(HttpStatusCode HttpStatus, int? GrpcStatus, string? GrpcMessage, CheckResponse? Response, HttpResponseHeaders Headers);

/// <summary>A minimal gRPC client over HttpClient (HTTP/2, prior knowledge): enough to drive the Check call.</summary>
internal static class GrpcTestClient
{
    /// <summary>The gRPC method path (PROTOCOL-HTTP2.md: Path → ":path" "/" Service-Name "/" {method name}).</summary>
    public const string CheckPath = "/envoy.service.auth.v3.Authorization/Check";

    public static byte[] Frame(ReadOnlySpan<byte> message, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)message.Length);
        message.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public static async Task<GrpcCallResult> CallAsync(
        HttpClient client,
        byte[] body,
        string path = CheckPath,
        string contentType = "application/grpc",
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        HttpMethod? method = null,
        Version? version = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path)
        {
            Version = version ?? HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var status = Header(response, "grpc-status");
        var message = Header(response, "grpc-message");
        CheckResponse? checkResponse = null;
        if (bytes.Length >= 5)
        {
            Assert.Equal(0, bytes[0]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1));
            Assert.Equal(bytes.Length - 5, (int)length);
            checkResponse = CheckResponse.Parser.ParseFrom(bytes.AsSpan(5).ToArray());
        }

        return new GrpcCallResult(
            response.StatusCode,
            status is null ? null : int.Parse(status, System.Globalization.CultureInfo.InvariantCulture),
            message is null ? null : Uri.UnescapeDataString(message),
            checkResponse,
            response.Headers);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.TrailingHeaders.TryGetValues(name, out var trailer) ? trailer.First()
        : response.Headers.TryGetValues(name, out var header) ? header.First()
        : null;
}
