using Gatehouse.Configuration;
using Gatehouse.Proxy.ExtAuthz;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// The ext_authz gRPC services (Authorization, grpc.health.v1.Health, optional reflection) in the one Kestrel server
/// that serves every listener. Their endpoints are reachable only on <c>ext_authz_grpc</c> listeners — and reflection
/// only where the listener enables it: a gateway that forwards gRPC must never have a call to
/// <c>/envoy.service.auth.v3.Authorization/Check</c> (or to any unknown service, which Grpc.AspNetCore would answer
/// UNIMPLEMENTED) answered by Gatehouse itself. Nothing is registered when no listener serves gRPC ext_authz.
/// </summary>
internal static class ExtAuthzGrpcHosting
{
    public static void AddServices(IServiceCollection services, GatehouseConfig config)
    {
        var listeners = GrpcListeners(config);
        if (listeners.Count == 0)
        {
            return;
        }

        services.AddExtAuthzGrpc(
            sp => sp.GetRequiredService<ExtAuthzEndpoints>().GrpcBackend,
            listeners.Max(l => l.ExtAuthz.MaxReceiveMessageBytes),
            reflection: listeners.Any(l => l.ExtAuthz.Reflection));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, ListenerEndpointPolicy>());
    }

    /// <summary>Routing → the gRPC endpoints (on their listeners only) → everything else falls through to the dispatcher.</summary>
    public static void UseEndpoints(WebApplication app, GatehouseConfig config)
    {
        var listeners = GrpcListeners(config);
        if (listeners.Count == 0)
        {
            return;
        }

        app.UseRouting();
        var endpoints = app.MapExtAuthzGrpc(reflection: listeners.Any(l => l.ExtAuthz.Reflection));
        endpoints.Authorization.WithMetadata(ListenerEndpointMetadata.GrpcService);
        endpoints.Health.WithMetadata(ListenerEndpointMetadata.GrpcService);
        endpoints.Reflection?.WithMetadata(ListenerEndpointMetadata.Reflection);
        // Note: WebApplication would add the endpoint middleware after the pipeline, where the terminal dispatcher
        // never lets a request reach it; here a matched gRPC endpoint runs, and an unmatched request goes on.
        app.UseEndpoints(static _ => { });
    }

    private static List<ListenerConfig> GrpcListeners(GatehouseConfig config) =>
        config.Listeners.Where(l => l.Mode == ListenerMode.ExtAuthzGrpc).ToList();
}

/// <summary>Marks an endpoint as served only on <c>ext_authz_grpc</c> listeners (and, for reflection, only where enabled).</summary>
internal sealed class ListenerEndpointMetadata
{
    public static readonly ListenerEndpointMetadata GrpcService = new(reflection: false);
    public static readonly ListenerEndpointMetadata Reflection = new(reflection: true);

    private ListenerEndpointMetadata(bool reflection) => IsReflection = reflection;

    public bool IsReflection { get; }

    public bool Allows(ListenerConfig? listener) =>
        listener is { Mode: ListenerMode.ExtAuthzGrpc } && (!IsReflection || listener.ExtAuthz.Reflection);
}

/// <summary>
/// Drops endpoints marked with <see cref="ListenerEndpointMetadata"/> from the candidates of a request that arrived on
/// another listener. The listener comes from the connection (tagged by Kestrel's connection middleware), not from the
/// Host header, which the client writes: <c>RequireHost("*:port")</c> would match on that header.
/// </summary>
internal sealed class ListenerEndpointPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // After the built-in policies (host, HTTP method): only decides among what they kept.
    public override int Order => 1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<ListenerEndpointMetadata>() is not null)
            {
                return true;
            }
        }

        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(candidates);
        var listener = ListenerTag.Get(httpContext);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i)
                && candidates[i].Endpoint.Metadata.GetMetadata<ListenerEndpointMetadata>() is { } metadata
                && !metadata.Allows(listener))
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }
}
