using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Gatehouse.Runtime;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// Pooled upstream HTTP clients: one shared invoker for plain upstreams (connection pooling, keep-alive), and one
/// per route for routes that originate mTLS (sidecar outbound).
/// </summary>
public sealed class UpstreamClients : IDisposable
{
    private readonly HttpMessageInvoker _shared;
    private readonly ConcurrentDictionary<CompiledRoute, HttpMessageInvoker> _perRoute = new();
    private readonly Func<CompiledRoute, HttpMessageHandler?> _routeHandlerFactory;

    public UpstreamClients(Func<CompiledRoute, HttpMessageHandler?>? routeHandlerFactory = null)
    {
        _shared = new HttpMessageInvoker(CreateHandler(), disposeHandler: true);
        _routeHandlerFactory = routeHandlerFactory ?? (static _ => null);
    }

    /// <summary>The settings YARP recommends for a forwarder: no proxy, no redirects, no decompression, no cookies.</summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        // Note: used only when spans are exported (an Activity exists): the inbound traceparent is then replaced by the
        // current activity's. Without an exporter the gateway sets traceparent itself (Gateway/TraceContext.cs).
        ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        // Note: HttpClient's own per-request meters stay off for proxied requests (UpstreamMeters).
        MeterFactory = UpstreamMeters.Instance,
    };

    public HttpMessageInvoker For(CompiledRoute route)
    {
        if (route.Config.Outbound is null)
        {
            return _shared;
        }
        return _perRoute.GetOrAdd(route, r =>
        {
            var handler = _routeHandlerFactory(r);
            return handler is null ? _shared : new HttpMessageInvoker(handler, disposeHandler: true);
        });
    }

    public void Dispose()
    {
        _shared.Dispose();
        foreach (var invoker in _perRoute.Values)
        {
            if (!ReferenceEquals(invoker, _shared))
            {
                invoker.Dispose();
            }
        }
    }
}
