using System.Diagnostics;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Proxy.Outbound;
using Gatehouse.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// Gateway, sidecar-inbound and sidecar-outbound listeners: decide, then forward through YARP's
/// <see cref="IHttpForwarder"/> or answer the denial.
/// </summary>
public sealed partial class GatewayHandler
{
    private readonly DecisionEngine _engine;
    private readonly SnapshotHolder _snapshots;
    private readonly IHttpForwarder _forwarder;
    private readonly UpstreamClients _clients;
    private readonly IDecisionObserver _observer;
    private readonly PeerIdentityResolver _peers;
    private readonly OutboundTokenStep _outboundTokens;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public GatewayHandler(
        DecisionEngine engine,
        SnapshotHolder snapshots,
        IHttpForwarder forwarder,
        UpstreamClients clients,
        IDecisionObserver observer,
        PeerIdentityResolver peers,
        OutboundTokenStep outboundTokens,
        TimeProvider time,
        ILogger<GatewayHandler> logger)
    {
        _engine = engine;
        _snapshots = snapshots;
        _forwarder = forwarder;
        _clients = clients;
        _observer = observer;
        _peers = peers;
        _outboundTokens = outboundTokens;
        _time = time;
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context, ListenerConfig listener)
    {
        var started = Stopwatch.GetTimestamp();
        var snapshot = _snapshots.Current;
        // First: what the policy reads and what the upstream receives must be the same headers.
        var rejectedHeader = UntrustedHeaders.Apply(context.Request.Headers, listener);
        var peer = _peers.Resolve(context, listener);
        var trace = TraceContext.For(context);
        var minting = TxnTokenMinting.Prepare(context, listener, snapshot.TxnTokens, trace);
        var request = HttpRequestAdapter.Create(context, listener, peer.Identity, peer.Thumbprint, trace.TraceId, minting.TransactionId);

        Decision decision;
        if (rejectedHeader is not null)
        {
            decision = new Decision
            {
                Outcome = DecisionOutcome.Deny,
                StatusCode = StatusCodes.Status400BadRequest,
                Reasons = [ReasonCodes.HeaderWithUnderscore + ":" + rejectedHeader.ToLowerInvariant()],
            };
        }
        else if (peer.FailureReason is not null)
        {
            decision = new Decision
            {
                Outcome = DecisionOutcome.Deny,
                StatusCode = StatusCodes.Status403Forbidden,
                Reasons = [peer.FailureReason],
            };
        }
        else
        {
            decision = await _engine.DecideAsync(request, snapshot, trace: false, context.RequestAborted).ConfigureAwait(false);
        }

        if (!decision.Allowed)
        {
            LogDenied(_logger, decision.RouteName ?? "-", decision.StatusCode, decision.Reasons.Count > 0 ? decision.Reasons[0] : "-", decision.Token?.Fingerprint ?? "-");
            await DenialWriter.WriteAsync(context, decision, listener.IncludeErrorDetails).ConfigureAwait(false);
            _observer.OnDecision(decision, request, Stopwatch.GetElapsedTime(started), context.Response.StatusCode);
            return;
        }

        var route = snapshot.Route(decision.RouteName)!;
        if (route.Upstream is null)
        {
            await DenialWriter.WriteJsonAsync(context, StatusCodes.Status502BadGateway, "no_upstream", [ReasonCodes.NoUpstream]).ConfigureAwait(false);
            _observer.OnDecision(decision, request, Stopwatch.GetElapsedTime(started), StatusCodes.Status502BadGateway);
            return;
        }

        HttpTransformer transformer = ForwardingTransformer.Instance;
        if (OutboundTokenStep.Applies(route))
        {
            // outbound.token: the upstream's token is obtained first; without one nothing is sent upstream.
            var denial = await _outboundTokens.PrepareAsync(context, decision, route, snapshot, context.RequestAborted).ConfigureAwait(false);
            if (denial is not null)
            {
                LogDenied(_logger, route.Name, denial.StatusCode, denial.Reasons[0], decision.Token?.Fingerprint ?? "-");
                await DenialWriter.WriteAsync(context, denial, listener.IncludeErrorDetails).ConfigureAwait(false);
                _observer.OnDecision(denial, request, Stopwatch.GetElapsedTime(started), context.Response.StatusCode);
                return;
            }

            transformer = OutboundTokenTransformer.Instance;
        }

        if (OutboundTokenStep.ReplacesTxnToken(route))
        {
            // outbound.txn_token.replace: a narrower Txn-Token from the service first; without one nothing is sent.
            var denial = await _outboundTokens.PrepareTxnTokenAsync(context, decision, route, snapshot, context.RequestAborted).ConfigureAwait(false);
            if (denial is not null)
            {
                LogDenied(_logger, route.Name, denial.StatusCode, denial.Reasons[0], decision.Token?.Fingerprint ?? "-");
                await DenialWriter.WriteAsync(context, denial, listener.IncludeErrorDetails).ConfigureAwait(false);
                _observer.OnDecision(denial, request, Stopwatch.GetElapsedTime(started), context.Response.StatusCode);
                return;
            }

            transformer = OutboundTokenTransformer.Instance;
        }

        // After the allow, never before: a denied request gets no Txn-Token (its audit record still has the txn).
        var txnToken = minting.Mint(snapshot.TxnTokens, decision, route, request, listener, _peers, _time);

        context.Features.Set(new ForwardingFeature
        {
            Decision = decision,
            Query = request.Query,
            ForwardedClientCert = peer.ForwardedClientCert,
            Trace = trace,
            TxnToken = txnToken,
            TxnTokenHeader = snapshot.TxnTokens?.Config.Header,
        });

        var config = new ForwarderRequestConfig { ActivityTimeout = route.Config.Timeout };
        var error = await _forwarder.SendAsync(
            context,
            route.UpstreamPrefix!,
            _clients.For(route),
            config,
            transformer).ConfigureAwait(false);

        if (error != ForwarderError.None)
        {
            await WriteForwardingFailureAsync(context, route.Name, error).ConfigureAwait(false);
        }
        _observer.OnDecision(decision, request, Stopwatch.GetElapsedTime(started), context.Response.StatusCode);
    }

    /// <summary>
    /// Answers a failed forward by whose fault it was. The client's: a request body that cannot be read (malformed
    /// chunked framing, a Content-Length the client does not send) is 400 (RFC 9112 §7.1, §6.3), and a client that
    /// went away gets nothing more — neither is an upstream failure, so no upstream warning. Otherwise the upstream's:
    /// 504 on a timeout, 502 for the rest (RFC 9110 §15.6.3, §15.6.5).
    /// </summary>
    private async Task WriteForwardingFailureAsync(HttpContext context, string route, ForwarderError error)
    {
        var fault = ClassifyForwardingError(error);
        switch (fault)
        {
            case ForwardingFault.ClientBody:
                LogClientFailed(_logger, route, error.ToString());
                if (!context.Response.HasStarted)
                {
                    await DenialWriter.WriteJsonAsync(context, StatusCodes.Status400BadRequest, "invalid_request", [ReasonCodes.RequestBodyInvalid]).ConfigureAwait(false);
                }
                return;
            case ForwardingFault.ClientGone:
                LogClientFailed(_logger, route, error.ToString());
                if (!context.Response.HasStarted)
                {
                    // Note: nobody reads this answer; the status is what the audit record and metrics show.
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                }
                return;
        }

        var timeout = fault == ForwardingFault.UpstreamTimeout;
        LogUpstreamFailed(_logger, route, error.ToString());
        if (!context.Response.HasStarted)
        {
            await DenialWriter.WriteJsonAsync(
                context,
                timeout ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway,
                timeout ? "upstream_timeout" : "upstream_unavailable",
                [timeout ? ReasonCodes.UpstreamTimeout : ReasonCodes.UpstreamUnavailable]).ConfigureAwait(false);
        }
    }

    internal enum ForwardingFault
    {
        ClientBody,
        ClientGone,
        UpstreamTimeout,
        Upstream,
    }

    /// <summary>Whose fault a YARP forwarding error is (YARP's ForwarderError: *Client = the client side, *Canceled = the client aborted).</summary>
    internal static ForwardingFault ClassifyForwardingError(ForwarderError error) => error switch
    {
        ForwarderError.RequestBodyClient or ForwarderError.UpgradeRequestClient => ForwardingFault.ClientBody,
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
            or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeRequestCanceled
            or ForwarderError.UpgradeResponseCanceled or ForwarderError.UpgradeResponseClient => ForwardingFault.ClientGone,
        ForwarderError.RequestTimedOut => ForwardingFault.UpstreamTimeout,
        _ => ForwardingFault.Upstream,
    };

    [LoggerMessage(EventId = 1503, Level = LogLevel.Information, Message = "Forwarding on route {Route} stopped on the client's side: {Error}")]
    private static partial void LogClientFailed(ILogger logger, string route, string error);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Denied request on route {Route}: {Status} {Reason} (token {Fingerprint})")]
    private static partial void LogDenied(ILogger logger, string route, int status, string reason, string fingerprint);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Upstream of route {Route} failed: {Error}")]
    private static partial void LogUpstreamFailed(ILogger logger, string route, string error);
}
