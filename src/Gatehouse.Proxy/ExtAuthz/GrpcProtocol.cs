using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Google.Protobuf;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>The outcome of reading one unary request message: the message, or the gRPC status to answer.</summary>
internal readonly struct GrpcReadResult<T>
    where T : class
{
    private GrpcReadResult(T? message, GrpcStatusCode status, string? detail)
    {
        Message = message;
        Status = status;
        Detail = detail;
    }

    public T? Message { get; }
    public GrpcStatusCode Status { get; }
    public string? Detail { get; }
    public bool Succeeded => Message is not null;

    public static GrpcReadResult<T> Ok(T message) => new(message, GrpcStatusCode.Ok, null);

    public static GrpcReadResult<T> Fail(GrpcStatusCode status, string detail) => new(null, status, detail);
}

/// <summary>
/// gRPC over HTTP/2 wire details (grpc/grpc doc/PROTOCOL-HTTP2.md): Length-Prefixed-Message framing, the
/// <c>grpc-timeout</c> header, <c>grpc-message</c> percent-encoding and the content-type rule.
/// </summary>
internal static class GrpcProtocol
{
    /// <summary>Compressed-Flag (1 byte) + Message-Length (4 bytes, big-endian).</summary>
    public const int HeaderSize = 5;

    /// <summary>
    /// PROTOCOL-HTTP2.md "Requests": Content-Type → "application/grpc" [("+proto" / "+json" / {custom})].
    /// Only the protobuf codec is served; parameters after <c>;</c> are allowed.
    /// </summary>
    public static bool IsGrpcProtoContentType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        var value = contentType.AsSpan();
        var semicolon = value.IndexOf(';');
        if (semicolon >= 0)
        {
            value = value[..semicolon];
        }

        value = value.Trim();
        return value.Equals("application/grpc", StringComparison.OrdinalIgnoreCase)
            || value.Equals("application/grpc+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// PROTOCOL-HTTP2.md: Timeout → TimeoutValue TimeoutUnit; TimeoutValue → at most 8 ASCII digits;
    /// TimeoutUnit → H / M / S / m / u / n. Returns false for a malformed value (which is then ignored).
    /// </summary>
    public static bool TryParseTimeout(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > 9)
        {
            return false;
        }

        long amount = 0;
        var digits = value[..^1];
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        timeout = value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromTicks(amount * 10),
            'n' => TimeSpan.FromTicks(amount / 100),
            _ => TimeSpan.MinValue,
        };
        return timeout != TimeSpan.MinValue;
    }

    /// <summary>
    /// PROTOCOL-HTTP2.md "Responses": Status-Message is Percent-Encoded: bytes %x20-%x24 and %x26-%x7E are sent as
    /// they are; every other byte of the UTF-8 encoding (and '%') as "%" HEXDIG HEXDIG.
    /// </summary>
    public static string PercentEncode(string message)
    {
        var needsEncoding = false;
        foreach (var c in message)
        {
            if (c is < ' ' or > '~' or '%')
            {
                needsEncoding = true;
                break;
            }
        }

        if (!needsEncoding)
        {
            return message;
        }

        var bytes = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Reads exactly one Length-Prefixed-Message and the end of the request stream (a unary call), then parses it.
    /// Never throws for bad input: every protocol violation becomes a status value.
    /// </summary>
    /// <param name="reader">The request body.</param>
    /// <param name="parser">The protobuf parser of the request message.</param>
    /// <param name="maxMessageBytes">Largest accepted message (RESOURCE_EXHAUSTED above it).</param>
    /// <param name="acceptsCompressed">
    /// Whether the request declared a <c>grpc-encoding</c> other than identity. We decompress nothing, so a
    /// compressed message is UNIMPLEMENTED then (PROTOCOL-HTTP2.md "Compression") and INTERNAL otherwise
    /// (a compressed flag without a grpc-encoding is a protocol error).
    /// </param>
    /// <param name="cancellationToken">Request aborted or deadline.</param>
    public static async ValueTask<GrpcReadResult<T>> ReadUnaryAsync<T>(
        PipeReader reader, MessageParser<T> parser, int maxMessageBytes, bool acceptsCompressed, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        T? message = null;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            var buffer = read.Buffer;

            if (message is not null)
            {
                // PROTOCOL-HTTP2.md: a unary request carries exactly one message.
                if (!buffer.IsEmpty)
                {
                    reader.AdvanceTo(buffer.End);
                    return GrpcReadResult<T>.Fail(GrpcStatusCode.Internal, "Additional data after the request message.");
                }

                if (read.IsCompleted)
                {
                    reader.AdvanceTo(buffer.End);
                    return GrpcReadResult<T>.Ok(message);
                }

                reader.AdvanceTo(buffer.End);
                continue;
            }

            if (buffer.Length >= HeaderSize)
            {
                var header = TryReadHeader<T>(buffer, maxMessageBytes, acceptsCompressed, out var length);
                if (header is { } failure)
                {
                    reader.AdvanceTo(buffer.End);
                    return failure;
                }

                if (buffer.Length >= HeaderSize + length)
                {
                    var payload = buffer.Slice(HeaderSize, length);
                    message = TryParse(parser, payload);
                    var rest = buffer.Slice(HeaderSize + length);
                    if (message is null)
                    {
                        reader.AdvanceTo(buffer.End);
                        return GrpcReadResult<T>.Fail(GrpcStatusCode.InvalidArgument, "The request message is not a valid protobuf message.");
                    }

                    if (!rest.IsEmpty)
                    {
                        reader.AdvanceTo(buffer.End);
                        return GrpcReadResult<T>.Fail(GrpcStatusCode.Internal, "Additional data after the request message.");
                    }

                    reader.AdvanceTo(buffer.End);
                    if (read.IsCompleted)
                    {
                        return GrpcReadResult<T>.Ok(message);
                    }

                    continue;
                }
            }

            if (read.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return buffer.IsEmpty
                    ? GrpcReadResult<T>.Fail(GrpcStatusCode.Internal, "The request did not include a message.")
                    : GrpcReadResult<T>.Fail(GrpcStatusCode.Internal, "Incomplete message: the request ended inside a frame.");
            }

            // Nothing consumed, everything examined: wait for more bytes.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static GrpcReadResult<T>? TryReadHeader<T>(
        in ReadOnlySequence<byte> buffer, int maxMessageBytes, bool acceptsCompressed, out int length)
        where T : class
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        length = 0;
        var flag = header[0];
        var declared = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);

        if (flag > 1)
        {
            return GrpcReadResult<T>.Fail(GrpcStatusCode.Internal, "Invalid Compressed-Flag in the message prefix.");
        }

        if (flag == 1)
        {
            return acceptsCompressed
                ? GrpcReadResult<T>.Fail(GrpcStatusCode.Unimplemented, "Compressed messages are not supported; use identity encoding.")
                : GrpcReadResult<T>.Fail(GrpcStatusCode.Internal, "Compressed-Flag set without a grpc-encoding.");
        }

        if (declared > (uint)maxMessageBytes)
        {
            return GrpcReadResult<T>.Fail(
                GrpcStatusCode.ResourceExhausted,
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Received message larger than max ({declared} vs. {maxMessageBytes})."));
        }

        length = (int)declared;
        return null;
    }

    private static T? TryParse<T>(MessageParser<T> parser, in ReadOnlySequence<byte> payload)
        where T : class, IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            // Note: Google.Protobuf reports malformed input only by throwing; this is the one place it is caught.
            return null;
        }
    }

    /// <summary>Writes one uncompressed Length-Prefixed-Message to the response body.</summary>
    public static void WriteMessage(PipeWriter writer, IMessage message)
    {
        var size = message.CalculateSize();
        var span = writer.GetSpan(HeaderSize + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span.Slice(HeaderSize, size));
        writer.Advance(HeaderSize + size);
    }
}
