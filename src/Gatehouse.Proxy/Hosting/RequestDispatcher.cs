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
    private readonly RequestAdmission _admission;
    private readonly TxnTokenService.TxnTokenServiceEndpoints _txnService;

    public RequestDispatcher(GatehouseServer server, IServiceProvider services, IDecisionObserver observer)
    {
        _server = server;
        _gateway = ActivatorUtilities.CreateInstance<GatewayHandler>(services, observer);
        _admin = new AdminEndpoints(server);
        _extAuthz = services.GetRequiredService<ExtAuthzEndpoints>();
        _admission = services.GetRequiredService<RequestAdmission>();
        _txnService = ActivatorUtilities.CreateInstance<TxnTokenService.TxnTokenServiceEndpoints>(services, observer);
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

        switch (listener.Mode)
        {
            case ListenerMode.ExtAuthzGrpc:
                // gRPC calls were served by the endpoints (ExtAuthzGrpcHosting); what reaches here is not gRPC.
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            case ListenerMode.ExtAuthzHttp:
                // Note: ext_authz checks count against limits.max_concurrent_requests inside the decision
                // (ExtAuthzEndpoints), so a shed check is still answered as a denial, never as a 503.
                await _extAuthz.HandleHttpAsync(context, listener).ConfigureAwait(false);
                return;
        }

        if (!_admission.TryEnter(_server.Snapshots.Current.Config.Limits.MaxConcurrentRequests))
        {
            context.Response.Headers.RetryAfter = "1";
            await DenialWriter.WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable, "overloaded", [Model.ReasonCodes.Overloaded]).ConfigureAwait(false);
            return;
        }

        try
        {
            if (listener.Mode == ListenerMode.TxnTokenService)
            {
                await _txnService.HandleAsync(context, listener).ConfigureAwait(false);
                return;
            }

            await _gateway.HandleAsync(context, listener).ConfigureAwait(false);
        }
        finally
        {
            _admission.Exit();
        }
    }
}
