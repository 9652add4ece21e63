using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// Envoy's ext_authz v3 gRPC service, unary <c>POST /envoy.service.auth.v3.Authorization/Check</c>, served by hand
/// on a Kestrel HTTP/2 listener (h2c or TLS) — no gRPC runtime package. Use it as the terminal handler of an
/// <c>ext_authz_grpc</c> listener: <c>app.Run(handler.HandleAsync)</c>. It answers every request itself: any
/// other path is UNIMPLEMENTED. Wire rules follow grpc/grpc doc/PROTOCOL-HTTP2.md.
/// </summary>
public sealed class ExtAuthzGrpcHandler
{
    /// <summary>The gRPC method path (PROTOCOL-HTTP2.md: Path → ":path" "/" Service-Name "/" {method name}).</summary>
    public const string CheckPath = "/envoy.service.auth.v3.Authorization/Check";

    private readonly DecideAsync _decide;
    private readonly ExtAuthzOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates the handler.</summary>
    /// <param name="decide">The decision engine (optionally wrapped by <see cref="CachingDecider.Create"/>).</param>
    /// <param name="options">Listener settings.</param>
    /// <param name="timeProvider">Time source for <c>grpc-timeout</c> deadlines.</param>
    /// <param name="logger">Diagnostics; never receives tokens.</param>
    public ExtAuthzGrpcHandler(DecideAsync decide, ExtAuthzOptions options, TimeProvider timeProvider, ILogger<ExtAuthzGrpcHandler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(decide);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxReceiveMessageBytes, 1);
        _decide = decide;
        _options = options;
        _timeProvider = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Serves one HTTP request. Never throws for client input; every failure becomes a gRPC status.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var response = context.Response;

        // gRPC requires HTTP/2 (PROTOCOL-HTTP2.md "Outline"); answer others as Grpc.AspNetCore does (426).
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            RejectHttp(context, StatusCodes.Status426UpgradeRequired, GrpcStatusCode.Internal, "gRPC requires HTTP/2.");
            return;
        }

        // PROTOCOL-HTTP2.md: "If Content-Type does not begin with "application/grpc", gRPC servers SHOULD respond
        // with HTTP status of 415 (Unsupported Media Type)."
        if (!GrpcProtocol.IsGrpcProtoContentType(request.ContentType))
        {
            RejectHttp(context, StatusCodes.Status415UnsupportedMediaType, GrpcStatusCode.Internal,
                "Content-Type '" + request.ContentType + "' is not supported; expected application/grpc.");
            return;
        }

        if (!HttpMethods.IsPost(request.Method) || !string.Equals(request.Path.Value, CheckPath, StringComparison.Ordinal))
        {
            await CompleteAsync(context, GrpcStatusCode.Unimplemented, "Method is unimplemented: " + request.Method + " " + request.Path.Value);
            return;
        }

        // Deadline: grpc-timeout (PROTOCOL-HTTP2.md). Envoy always sends it (grpc_service.timeout, default 200 ms).
        TimeSpan? timeout = request.Headers.TryGetValue("grpc-timeout", out var timeoutHeader)
            && GrpcProtocol.TryParseTimeout(timeoutHeader.ToString(), out var parsed) ? parsed : null;
        using var deadlineSource = timeout is { } t
            ? new CancellationTokenSource(t < TimeSpan.Zero ? TimeSpan.Zero : t, _timeProvider)
            : null;
        using var linked = deadlineSource is null
            ? null
            : CancellationTokenSource.CreateLinkedTokenSource(deadlineSource.Token, context.RequestAborted);
        var token = linked?.Token ?? context.RequestAborted;

        var encoding = request.Headers["grpc-encoding"].ToString();
        var declaresCompression = encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.OrdinalIgnoreCase);

        GrpcReadResult<CheckRequest> read;
        try
        {
            read = await GrpcProtocol.ReadUnaryAsync(request.BodyReader, CheckRequest.Parser, _options.MaxReceiveMessageBytes, declaresCompression, token);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (OperationCanceledException)
        {
            await DeadlineExceededAsync(context, timeout);
            return;
        }
        catch (BadHttpRequestException exception)
        {
            await CompleteAsync(context, GrpcStatusCode.Internal, "Bad request: " + exception.Message);
            return;
        }
        catch (IOException)
        {
            // The client reset the stream mid-message (Kestrel surfaces it as an IOException).
            return;
        }

        if (!read.Succeeded)
        {
            if (read.Status == GrpcStatusCode.Unimplemented)
            {
                // PROTOCOL-HTTP2.md "Compression": tell the client which encodings we accept.
                response.Headers["grpc-accept-encoding"] = "identity";
            }

            ExtAuthzLog.CallRejected(_logger, (int)read.Status, read.Detail!);
            await CompleteAsync(context, read.Status, read.Detail);
            return;
        }

        var authorizationRequest = CheckRequestMapper.Map(read.Message!, _options);
        Model.Decision decision;
        if (authorizationRequest is null)
        {
            ExtAuthzLog.NotHttp(_logger);
            decision = LocalDecisions.NotHttp;
        }
        else
        {
            var (outcome, decided) = await DecisionRunner.RunAsync(_decide, authorizationRequest, token, context.RequestAborted, _logger);
            if (outcome == RunOutcome.Aborted)
            {
                return;
            }

            if (outcome == RunOutcome.DeadlineExceeded)
            {
                await DeadlineExceededAsync(context, timeout);
                return;
            }

            decision = decided;
        }

        var checkResponse = CheckResponseBuilder.Build(decision, _options);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        GrpcProtocol.WriteMessage(response.BodyWriter, checkResponse);
        await CompleteAsync(context, GrpcStatusCode.Ok, null);
    }

    private Task DeadlineExceededAsync(HttpContext context, TimeSpan? timeout)
    {
        ExtAuthzLog.DeadlineExceeded(_logger, timeout?.TotalMilliseconds ?? 0);
        return CompleteAsync(context, GrpcStatusCode.DeadlineExceeded, "Deadline exceeded.");
    }

    /// <summary>Ends the call: 200 + application/grpc, then trailers grpc-status and grpc-message.</summary>
    private static async Task CompleteAsync(HttpContext context, GrpcStatusCode status, string? message)
    {
        var response = context.Response;
        if (!response.HasStarted)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
        }

        response.AppendTrailer("grpc-status", ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(message))
        {
            response.AppendTrailer("grpc-message", GrpcProtocol.PercentEncode(message));
        }

        try
        {
            await response.BodyWriter.FlushAsync(context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client is gone; nothing left to tell it.
        }
    }

    /// <summary>
    /// A non-gRPC HTTP status with grpc-status in the headers (no trailers possible on HTTP/1.1); clients that
    /// are not gRPC see a plain HTTP error.
    /// </summary>
    private static void RejectHttp(HttpContext context, int httpStatus, GrpcStatusCode status, string message)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.Headers[HeaderNames.ContentType] = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = GrpcProtocol.PercentEncode(message);
    }
}
