using System.Diagnostics;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Proxy.Hosting;
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
    private readonly ILogger _logger;

    public GatewayHandler(
        DecisionEngine engine,
        SnapshotHolder snapshots,
        IHttpForwarder forwarder,
        UpstreamClients clients,
        IDecisionObserver observer,
        PeerIdentityResolver peers,
        ILogger<GatewayHandler> logger)
    {
        _engine = engine;
        _snapshots = snapshots;
        _forwarder = forwarder;
        _clients = clients;
        _observer = observer;
        _peers = peers;
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context, ListenerConfig listener)
    {
        var started = Stopwatch.GetTimestamp();
        var snapshot = _snapshots.Current;
        var peer = _peers.Resolve(context, listener);
        var trace = TraceContext.For(context);
        var request = HttpRequestAdapter.Create(context, listener, peer.Identity, peer.Thumbprint, trace.TraceId);

        Decision decision;
        if (peer.FailureReason is not null)
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

        context.Features.Set(new ForwardingFeature
        {
            Decision = decision,
            Query = request.Query,
            ForwardedClientCert = peer.ForwardedClientCert,
            Trace = trace,
        });

        var config = new ForwarderRequestConfig { ActivityTimeout = route.Config.Timeout };
        var error = await _forwarder.SendAsync(
            context,
            route.UpstreamPrefix!,
            _clients.For(route),
            config,
            ForwardingTransformer.Instance).ConfigureAwait(false);

        if (error != ForwarderError.None)
        {
            var status = error is ForwarderError.RequestTimedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
            LogUpstreamFailed(_logger, route.Name, error.ToString());
            if (!context.Response.HasStarted)
            {
                await DenialWriter.WriteJsonAsync(
                    context,
                    status,
                    status == StatusCodes.Status504GatewayTimeout ? "upstream_timeout" : "upstream_unavailable",
                    [status == StatusCodes.Status504GatewayTimeout ? ReasonCodes.UpstreamTimeout : ReasonCodes.UpstreamUnavailable]).ConfigureAwait(false);
            }
        }
        _observer.OnDecision(decision, request, Stopwatch.GetElapsedTime(started), context.Response.StatusCode);
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Denied request on route {Route}: {Status} {Reason} (token {Fingerprint})")]
    private static partial void LogDenied(ILogger logger, string route, int status, string reason, string fingerprint);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Upstream of route {Route} failed: {Error}")]
    private static partial void LogUpstreamFailed(ILogger logger, string route, string error);
}
