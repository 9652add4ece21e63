using System.Globalization;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// Envoy's ext_authz v3 gRPC service, <c>envoy.service.auth.v3.Authorization/Check</c>, on Grpc.AspNetCore: the
/// library does the gRPC wire (HTTP/2 framing, grpc-timeout, compression, status trailers); this class decides.
/// Every decision is answered in band — grpc-status OK with a CheckResponse whose <c>status</c> allows or denies —
/// because Envoy treats a gRPC error as a failure, which <c>failure_mode_allow: true</c> turns into an allow.
/// </summary>
internal sealed class ExtAuthzGrpcService : Authorization.AuthorizationBase
{
    private readonly ExtAuthzGrpcBackend _backend;
    private readonly int _largestMaxReceiveMessageBytes;
    private readonly ILogger _logger;

    public ExtAuthzGrpcService(ExtAuthzGrpcBackend backend, ExtAuthzGrpcLimits limits, ILogger<ExtAuthzGrpcService> logger)
    {
        _backend = backend;
        _largestMaxReceiveMessageBytes = limits.MaxReceiveMessageBytes;
        _logger = logger;
    }

    public override async Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        var options = _backend.OptionsFor(context.GetHttpContext());

        // Note: the library enforces the largest max_receive_message_bytes of all gRPC listeners before parsing; a
        // listener with a smaller limit is held to it here (a parsed message keeps unknown fields, so its size is
        // the size received).
        if (options.MaxReceiveMessageBytes < _largestMaxReceiveMessageBytes && request.CalculateSize() is var size && size > options.MaxReceiveMessageBytes)
        {
            var detail = string.Create(CultureInfo.InvariantCulture, $"Received message larger than max ({size} vs. {options.MaxReceiveMessageBytes}).");
            ExtAuthzLog.CallRejected(_logger, (int)StatusCode.ResourceExhausted, detail);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, detail));
        }

        Decision decision;
        try
        {
            decision = await DecideAsync(request, options, context).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Any failure must become a fail-closed, in-band denial; an exception would be a gRPC error (UNKNOWN) that failure_mode_allow turns into an allow.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            ExtAuthzLog.DecisionFailed(_logger, exception);
            decision = LocalDecisions.InternalError;
        }

        return CheckResponseBuilder.Build(decision, options);
    }

    private async ValueTask<Decision> DecideAsync(CheckRequest check, ExtAuthzOptions options, ServerCallContext context)
    {
        var request = CheckRequestMapper.Map(check, options);
        if (request is null)
        {
            ExtAuthzLog.NotHttp(_logger);
            return LocalDecisions.NotHttp;
        }

        // Envoy sends grpc-timeout = its own ext_authz timeout (grpc_service.timeout, default 200 ms); when that passes,
        // Envoy gives up (an error: failure_mode_allow decides). Answer a denial in band a little before it instead.
        var budget = context.Deadline == DateTime.MaxValue ? (TimeSpan?)null : context.Deadline - _backend.TimeProvider.GetUtcNow().UtcDateTime;
        using var inBand = budget is { } b ? new CancellationTokenSource(InBandDeadline(b), _backend.TimeProvider) : null;
        using var linked = inBand is null ? null : CancellationTokenSource.CreateLinkedTokenSource(inBand.Token, context.CancellationToken);
        var (outcome, decision) = await DecisionRunner.RunAsync(
            _backend.Decide, request, linked?.Token ?? context.CancellationToken, context.CancellationToken, _logger).ConfigureAwait(false);
        switch (outcome)
        {
            case RunOutcome.DeadlineExceeded:
                ExtAuthzLog.DeadlineExceeded(_logger, budget?.TotalMilliseconds ?? 0);
                return LocalDecisions.DecisionTimeout;
            case RunOutcome.Aborted:
                // The caller is gone (or the library's deadline passed first): nobody reads this answer.
                return LocalDecisions.DecisionTimeout;
            default:
                return decision;
        }
    }

    /// <summary>
    /// When to stop waiting for the engine: the budget minus a tenth of it (between 1 ms and 50 ms) for the answer to
    /// travel back. 200 ms → 180 ms.
    /// </summary>
    internal static TimeSpan InBandDeadline(TimeSpan budget)
    {
        var margin = TimeSpan.FromTicks(Math.Clamp(budget.Ticks / 10, TimeSpan.TicksPerMillisecond, 50 * TimeSpan.TicksPerMillisecond));
        var deadline = budget - margin;
        return deadline > TimeSpan.Zero ? deadline : TimeSpan.Zero;
    }
}

/// <summary>The message limit the gRPC library enforces for every ext_authz listener (the largest configured).</summary>
internal sealed record ExtAuthzGrpcLimits(int MaxReceiveMessageBytes);
