using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>What the ext_authz gRPC service needs from its host (registered with <see cref="ExtAuthzGrpcExtensions.AddExtAuthzGrpc"/>).</summary>
public sealed class ExtAuthzGrpcBackend
{
    /// <summary>The decision engine (optionally wrapped by <see cref="CachingDecider.Create"/>).</summary>
    public required DecideAsync Decide { get; init; }

    /// <summary>The settings of the listener that accepted the call (a host may serve several gRPC listeners).</summary>
    public required Func<HttpContext, ExtAuthzOptions> OptionsFor { get; init; }

    /// <summary>
    /// Null when the engine can decide; otherwise why not (e.g. an issuer's keys not loaded or past max_stale).
    /// grpc.health.v1.Health answers NOT_SERVING then.
    /// </summary>
    public Func<string?> NotReadyReason { get; init; } = static () => null;

    /// <summary>Clock of the in-band deadline timer.</summary>
    /// <remarks>Defaults to <see cref="TimeProvider.System"/>.</remarks>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
