using System.Collections.Concurrent;
using System.Diagnostics;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Cache;
using Gatehouse.Diagnostics;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Hosting;

/// <summary>
/// ext_authz listeners (gRPC and HTTP) on the same decision engine as the gateway. Each listener gets one handler;
/// decisions go through the decision cache (an in-process tier cleared on every config swap, and with
/// <c>state.backend: redis</c> a shared tier keyed by the config's fingerprint) and are audited like gateway ones.
/// </summary>
internal sealed class ExtAuthzEndpoints
{
    private readonly ConcurrentDictionary<string, ExtAuthzOptions> _grpcOptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ExtAuthzHttpHandler> _http = new(StringComparer.Ordinal);
    private readonly DecideAsync _decide;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;

    public ExtAuthzEndpoints(IServiceProvider services, IDecisionObserver observer, RequestAdmission admission)
    {
        var engine = services.GetRequiredService<DecisionEngine>();
        var snapshots = services.GetRequiredService<SnapshotHolder>();
        var metrics = services.GetRequiredService<GatehouseMetrics>();
        _time = services.GetRequiredService<TimeProvider>();
        _loggers = services.GetRequiredService<ILoggerFactory>();

        var cache = new DecisionCache(snapshots.Current.Config.DecisionCache, _time);
        // A swap clears the cache and applies the new snapshot's decision_cache settings (ttl 0 turns it off).
        snapshots.Swapped += snapshot => cache.Reconfigure(snapshot.Config.DecisionCache);

        // With a shared state backend (Redis) the cache has a second tier every replica reads (docs/state.md).
        var state = services.GetRequiredService<Gatehouse.State.IStateStore>();
        var shared = string.Equals(state.Backend, "memory", StringComparison.Ordinal) || !snapshots.Current.Config.DecisionCache.Shared
            ? null
            : new SharedDecisionCache(state, _time, metrics.Meter);
        SharedCache = shared;

        _decide = async (request, cancellationToken) =>
        {
            // Shed in band: a denial Envoy enforces even with failure_mode_allow (RequestAdmission).
            if (!admission.TryEnter(snapshots.Current.Config.Limits.MaxConcurrentRequests))
            {
                return LocalDecisions.Overloaded;
            }

            try
            {
                return await DecideAdmittedAsync(request, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                admission.Exit();
            }
        };
        GrpcBackend = new ExtAuthzGrpcBackend
        {
            Decide = _decide,
            OptionsFor = GrpcOptionsFor,
            NotReadyReason = () => Readiness.NotReadyReason(snapshots.Current),
            TimeProvider = _time,
        };

        async ValueTask<Decision> DecideAdmittedAsync(AuthorizationRequest request, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            // One snapshot for the whole call: the shared key's config fingerprint and the engine agree on the rules.
            var snapshot = snapshots.Current;
            Decision decision;
            // The cache key covers the credential, workload, method, host, path and query; a snapshot whose policies
            // read other headers decides on inputs the key does not see, so it is not cached at all.
            if (!cache.Enabled || snapshot.PoliciesReadHeaders || !DecisionCacheKey.TryCreate(request, out var key))
            {
                decision = await engine.DecideAsync(request, snapshot, trace: false, cancellationToken).ConfigureAwait(false);
            }
            else if (cache.TryGet(key, out var cached))
            {
                metrics.RecordDecisionCache(hit: true);
                decision = cached;
            }
            else
            {
                var generation = cache.Generation;
                string? sharedKey = null;
                Decision? fromShared = null;
                if (shared is not null)
                {
                    // Fail-safe: an unreachable or unreadable shared tier is a miss and the engine decides.
                    sharedKey = shared.KeyOf(snapshot, key);
                    (_, fromShared) = await shared.GetAsync(sharedKey, cancellationToken).ConfigureAwait(false);
                }

                metrics.RecordDecisionCache(hit: fromShared is not null);
                if (fromShared is not null)
                {
                    decision = fromShared;
                    cache.TrySet(key, decision, generation);
                }
                else
                {
                    decision = await engine.DecideAsync(request, snapshot, trace: false, cancellationToken).ConfigureAwait(false);
                    cache.TrySet(key, decision, generation);
                    if (sharedKey is not null)
                    {
                        await shared!.SetAsync(sharedKey, decision, snapshot.Config.DecisionCache.Ttl, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            observer.OnDecision(decision, request, Stopwatch.GetElapsedTime(started), decision.StatusCode);
            return decision;
        }
    }

    /// <summary>The shared tier of the decision cache (state.backend: redis), or null with the memory backend.</summary>
    public SharedDecisionCache? SharedCache { get; }

    /// <summary>What the gRPC service (Grpc.AspNetCore, ExtAuthzGrpcHosting) decides with.</summary>
    public ExtAuthzGrpcBackend GrpcBackend { get; }

    private ExtAuthzOptions GrpcOptionsFor(HttpContext context)
    {
        // The listener policy admits gRPC calls on ext_authz_grpc listeners only, so a tag is always there.
        var listener = ListenerTag.Get(context);
        return listener is null
            ? new ExtAuthzOptions()
            : _grpcOptions.GetOrAdd(listener.Name, static (_, l) => new ExtAuthzOptions
            {
                ListenerName = l.Name,
                MaxReceiveMessageBytes = l.ExtAuthz.MaxReceiveMessageBytes,
                IncludeErrorDetails = l.ExtAuthz.IncludeErrorDetails,
            }, listener);
    }

    public Task HandleHttpAsync(HttpContext context, ListenerConfig listener) =>
        _http.GetOrAdd(listener.Name, _ => new ExtAuthzHttpHandler(
            _decide,
            new ExtAuthzOptions
            {
                ListenerName = listener.Name,
                PathPrefix = listener.ExtAuthz.PathPrefix,
                TrustForwardedClientCert = listener.TrustForwardedClientCert,
                IncludeErrorDetails = listener.ExtAuthz.IncludeErrorDetails,
                StatusOnUnavailable = listener.ExtAuthz.StatusOnUnavailable,
            },
            _loggers.CreateLogger<ExtAuthzHttpHandler>())).HandleAsync(context);
}
