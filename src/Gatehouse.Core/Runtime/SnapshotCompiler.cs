using Gatehouse.Configuration;
using Gatehouse.Policy;
using Gatehouse.Routing;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Runtime;

/// <summary>The result of compiling a config: the new snapshot, plus issuer runtimes to start and to retire.</summary>
public sealed record SnapshotCompilation(
    GatehouseSnapshot Snapshot,
    IReadOnlyList<IssuerRuntime> Started,
    IReadOnlyList<IssuerRuntime> Retired);

/// <summary>
/// Compiles a validated <see cref="GatehouseConfig"/> into a <see cref="GatehouseSnapshot"/>. Issuer runtimes (key
/// caches, introspection caches) are carried over from the previous snapshot when their settings are unchanged, so
/// a reload does not refetch keys or empty caches.
/// </summary>
public sealed class SnapshotCompiler
{
    private readonly HttpClient _httpClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private long _revision;

    private readonly State.IStateStore? _sharedCache;

    /// <summary>Creates a compiler; <paramref name="sharedCache"/> (Redis) makes issuers share introspection answers.</summary>
    public SnapshotCompiler(HttpClient httpClient, TimeProvider timeProvider, ILoggerFactory loggerFactory, State.IStateStore? sharedCache = null)
    {
        _httpClient = httpClient;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _sharedCache = sharedCache;
    }

    public SnapshotCompilation Compile(GatehouseConfig config, GatehouseSnapshot? previous)
    {
        var issuers = new Dictionary<string, IssuerRuntime>(StringComparer.Ordinal);
        var started = new List<IssuerRuntime>();
        foreach (var (name, issuerConfig) in config.Issuers)
        {
            if (previous is not null
                && previous.Issuers.TryGetValue(name, out var existing)
                && IssuerRuntime.SameSettings(existing.Config, issuerConfig))
            {
                issuers[name] = existing;
                continue;
            }
            var runtime = new IssuerRuntime(issuerConfig, _httpClient, _timeProvider, _loggerFactory, _sharedCache);
            issuers[name] = runtime;
            started.Add(runtime);
        }

        var retired = new List<IssuerRuntime>();
        if (previous is not null)
        {
            foreach (var (name, runtime) in previous.Issuers)
            {
                if (!issuers.TryGetValue(name, out var kept) || !ReferenceEquals(kept, runtime))
                {
                    retired.Add(runtime);
                }
            }
        }

        var globalPolicies = config.Policies.Values.Where(p => p.Global).ToList();
        // Every claim header any route sets is stripped on every route: routes sharing an upstream must not let a
        // caller spoof through one route the identity header another route vouches for.
        var claimHeaderNames = config.Routes
            .SelectMany(r => r.ClaimHeaders.Keys)
            .Select(h => h.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var routes = new List<CompiledRoute>(config.Routes.Count);
        foreach (var route in config.Routes)
        {
            routes.Add(CompileRoute(route, config, issuers, globalPolicies, claimHeaderNames));
        }

        var all = RouteTable<CompiledRoute>.Build(routes.Select(r => (r.Config.Match, r)));
        var byListener = new Dictionary<string, RouteTable<CompiledRoute>>(StringComparer.Ordinal);
        foreach (var listener in config.Listeners)
        {
            if (listener.Routes.Count == 0)
            {
                continue;
            }
            var names = new HashSet<string>(listener.Routes, StringComparer.Ordinal);
            byListener[listener.Name] = RouteTable<CompiledRoute>.Build(
                routes.Where(r => names.Contains(r.Name)).Select(r => (r.Config.Match, r)));
        }

        // The signing keys are read here, after check validated them; a file that changed in between and no longer
        // holds a usable key fails the compile: a reload keeps the last good snapshot, a first load refuses to start.
        var txnTokens = Tokens.TxnTokens.TxnTokenRuntime.Create(config, issuers, out var txnError);
        if (config.TxnTokens is not null && txnTokens is null)
        {
            throw new InvalidOperationException(txnError);
        }

        var snapshot = new GatehouseSnapshot(
            Interlocked.Increment(ref _revision),
            config,
            _timeProvider.GetUtcNow(),
            all,
            byListener,
            routes,
            issuers)
        {
            TxnTokens = txnTokens,
            PoliciesReadHeaders = config.Policies.Values.Any(p => p.Rules.Any(r => r.When.Any(w => w.Key.StartsWith("headers.", StringComparison.Ordinal)))),
            DpopByListener = config.Listeners
                .Where(l => l.Dpop is not null)
                .ToDictionary(l => l.Name, l => Tokens.Dpop.DpopSettings.Create(l.Name, l.Dpop!), StringComparer.Ordinal),
        };
        return new SnapshotCompilation(snapshot, started, retired);
    }

    private static CompiledRoute CompileRoute(
        RouteConfig route,
        GatehouseConfig config,
        Dictionary<string, IssuerRuntime> issuers,
        List<PolicyConfig> globalPolicies,
        List<string> claimHeaderNames)
    {
        var routeIssuers = new List<IssuerRuntime>();
        // A route that names no issuers accepts tokens of every configured issuer (docs/configuration.md).
        var names = route.Authentication.Issuers.Count > 0 ? route.Authentication.Issuers : (IEnumerable<string>)config.Issuers.Keys;
        foreach (var name in names)
        {
            // Note: the config was validated, so an unknown name cannot occur; skipping keeps us fail-closed
            // (fewer issuers can only reject more tokens).
            if (issuers.TryGetValue(name, out var runtime))
            {
                routeIssuers.Add(runtime);
            }
        }

        var bound = new List<PolicyConfig>(globalPolicies);
        foreach (var name in route.Policies)
        {
            if (config.Policies.TryGetValue(name, out var policy) && !policy.Global)
            {
                bound.Add(policy);
            }
        }

        var claimHeaders = route.ClaimHeaders
            .Select(kv => new KeyValuePair<string, string>(kv.Key.ToLowerInvariant(), kv.Value))
            .ToList();
        var remove = new List<string>(claimHeaderNames);
        var tokenMode = route.Outbound?.Token?.Mode;
        if (!route.Authentication.ForwardAuthorization && tokenMode != OutboundTokenMode.Forward)
        {
            remove.Add("authorization");
        }

        if (route.Outbound?.TxnToken is { Forward: false })
        {
            // A Txn-Token never leaves its trust domain (draft-ietf-oauth-transaction-tokens-10, security considerations).
            remove.Add(Tokens.TxnTokens.TxnTokenProtocol.HeaderName);
        }

        Uri? upstream = null;
        if (route.Upstream is not null && Uri.TryCreate(route.Upstream, UriKind.Absolute, out var uri))
        {
            upstream = uri;
        }

        return new CompiledRoute
        {
            Name = route.Name,
            Config = route,
            Upstream = upstream,
            Issuers = routeIssuers,
            Policies = CompiledPolicySet.Compile(bound),
            ClaimHeaders = claimHeaders,
            RemoveHeaders = remove.Distinct(StringComparer.Ordinal).ToList(),
            // RFC 9449: the DPoP proof travels with the token; an upstream that does not get the token gets neither.
            RemoveHeadersWithDpop = (route.Authentication.ForwardAuthorization ? remove : remove.Append("dpop")).Distinct(StringComparer.Ordinal).ToList(),
            RequireBoundTokens = route.Authentication.RequireBoundTokens,
            // outbound.token forward/exchange: the app's token is checked here only against issuers the route names
            // (the STS or the peer validates it otherwise).
            PassesTokenUnvalidated = tokenMode is OutboundTokenMode.Forward or OutboundTokenMode.Exchange && route.Authentication.Issuers.Count == 0,
        };
    }
}
