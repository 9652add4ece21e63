using Gatehouse.Configuration;
using Gatehouse.Model;
using Gatehouse.Proxy.Admin;
using Gatehouse.Proxy.Gateway;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// The single terminal middleware: finds the listener that accepted the connection and hands the request to
/// that mode's handler. Requests beyond <c>limits.max_concurrent_requests</c> are shed with 503 at once rather
/// than queued into timeouts.
/// </summary>
internal sealed class RequestDispatcher
{
    private readonly GatehouseServer _server;
    private readonly GatewayHandler _gateway;
    private readonly AdminEndpoints _admin;
    private readonly ExtAuthzEndpoints _extAuthz;
    private int _inFlight;

    public RequestDispatcher(GatehouseServer server, IServiceProvider services, IDecisionObserver observer)
    {
        _server = server;
        _gateway = ActivatorUtilities.CreateInstance<GatewayHandler>(services, observer);
        _admin = new AdminEndpoints(server);
        _extAuthz = new ExtAuthzEndpoints(services, observer);
    }

    public async Task DispatchAsync(HttpContext context)
    {
        var listener = ListenerTag.Get(context);
        if (listener is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (listener.Mode == ListenerMode.Admin)
        {
            await _admin.HandleAsync(context).ConfigureAwait(false);
            return;
        }

        var limit = _server.Snapshots.Current.Config.Limits.MaxConcurrentRequests;
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            if (limit > 0 && inFlight > limit)
            {
                context.Response.Headers.RetryAfter = "1";
                await DenialWriter.WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable, "overloaded", [Model.ReasonCodes.Overloaded]).ConfigureAwait(false);
                return;
            }
            switch (listener.Mode)
            {
                case ListenerMode.ExtAuthzGrpc:
                    await _extAuthz.HandleGrpcAsync(context, listener).ConfigureAwait(false);
                    break;
                case ListenerMode.ExtAuthzHttp:
                    await _extAuthz.HandleHttpAsync(context, listener).ConfigureAwait(false);
                    break;
                default:
                    await _gateway.HandleAsync(context, listener).ConfigureAwait(false);
                    break;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
