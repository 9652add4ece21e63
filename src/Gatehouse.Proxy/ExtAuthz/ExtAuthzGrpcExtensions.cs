using Grpc.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>The endpoints of <see cref="ExtAuthzGrpcExtensions.MapExtAuthzGrpc"/>, so a host can add conventions to them.</summary>
/// <param name="Authorization">envoy.service.auth.v3.Authorization (Check, and UNIMPLEMENTED for other methods and services).</param>
/// <param name="Health">grpc.health.v1.Health (Check, Watch).</param>
/// <param name="Reflection">grpc.reflection (v1, v1alpha), or null when not mapped.</param>
public sealed record ExtAuthzGrpcEndpoints(IEndpointConventionBuilder Authorization, IEndpointConventionBuilder Health, IEndpointConventionBuilder? Reflection);

/// <summary>
/// Envoy's ext_authz gRPC service on Grpc.AspNetCore, with grpc.health.v1.Health (Grpc.AspNetCore.HealthChecks) and
/// optional server reflection.
/// </summary>
public static class ExtAuthzGrpcExtensions
{
    /// <summary>The health service names answered: the whole server ("") and the ext_authz service.</summary>
    public const string AuthorizationServiceName = "envoy.service.auth.v3.Authorization";

    /// <summary>How often Watch streams are refreshed from the readiness check (Check always evaluates it anew).</summary>
    public static readonly TimeSpan HealthWatchPeriod = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Registers gRPC, the ext_authz service backed by <paramref name="backend"/>, the health service (NOT_SERVING
    /// while <see cref="ExtAuthzGrpcBackend.NotReadyReason"/> is not null) and, when asked, the reflection service.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="backend">Resolves the backend (once, on the first call).</param>
    /// <param name="maxReceiveMessageBytes">Largest CheckRequest accepted; larger gets RESOURCE_EXHAUSTED.</param>
    /// <param name="reflection">Also register gRPC server reflection.</param>
    public static IServiceCollection AddExtAuthzGrpc(
        this IServiceCollection services, Func<IServiceProvider, ExtAuthzGrpcBackend> backend, int maxReceiveMessageBytes = 4 * 1024 * 1024, bool reflection = false)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxReceiveMessageBytes, 1);

        services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = maxReceiveMessageBytes;
            // Note: exception messages never go to the caller (they could name internals); the service answers every
            // decision in band anyway.
            options.EnableDetailedErrors = false;
        });
        services.TryAddSingleton(backend);
        services.TryAddSingleton(new ExtAuthzGrpcLimits(maxReceiveMessageBytes));
        // One instance serves every call (no per-call allocation of the service).
        services.TryAddSingleton<ExtAuthzGrpcService>();

        services.AddGrpcHealthChecks(options =>
            {
                // Note: the default mapping ("" → every check) is added by AddGrpcHealthChecks; the ext_authz service
                // name answers the same, for probes that name it (Envoy health_check grpc_health_check.service_name).
                options.Services.Map(AuthorizationServiceName, static (HealthCheckMapContext _) => true);
            })
            .AddCheck<ExtAuthzReadinessCheck>("gatehouse-ready");
        services.Configure<HealthCheckPublisherOptions>(options =>
        {
            options.Delay = TimeSpan.Zero;
            options.Period = HealthWatchPeriod;
        });

        if (reflection)
        {
            services.AddGrpcReflection();
        }

        return services;
    }

    /// <summary>Maps the services registered by <see cref="AddExtAuthzGrpc"/>.</summary>
    public static ExtAuthzGrpcEndpoints MapExtAuthzGrpc(this IEndpointRouteBuilder endpoints, bool reflection = false)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var authorization = endpoints.MapGrpcService<ExtAuthzGrpcService>();
        var health = endpoints.MapGrpcHealthChecksService();
        var reflectionEndpoints = reflection ? endpoints.MapGrpcReflectionService() : null;
        return new ExtAuthzGrpcEndpoints(authorization, health, reflectionEndpoints);
    }
}

/// <summary>The ASP.NET Core health check behind grpc.health.v1.Health: unhealthy while the engine cannot decide.</summary>
internal sealed class ExtAuthzReadinessCheck(ExtAuthzGrpcBackend backend) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(backend.NotReadyReason() is { } reason ? HealthCheckResult.Unhealthy(reason) : HealthCheckResult.Healthy());
}
