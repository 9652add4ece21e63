using System.Collections.Frozen;
using Gatehouse.Configuration;
using Gatehouse.Routing;
using Gatehouse.Tokens;

namespace Gatehouse.Runtime;

/// <summary>
/// One immutable, compiled configuration: what every request is decided against. A reload builds a new snapshot
/// and swaps it atomically (<see cref="SnapshotHolder"/>); a request reads the snapshot once at its start and
/// finishes on it, so a reload never changes the rules under a request in flight.
/// </summary>
public sealed class GatehouseSnapshot
{
    private readonly IReadOnlyDictionary<string, RouteTable<CompiledRoute>> _routesByListener;

    internal GatehouseSnapshot(
        long revision,
        GatehouseConfig config,
        DateTimeOffset loadedAt,
        RouteTable<CompiledRoute> allRoutes,
        IReadOnlyDictionary<string, RouteTable<CompiledRoute>> routesByListener,
        IReadOnlyList<CompiledRoute> routes,
        IReadOnlyDictionary<string, IssuerRuntime> issuers)
    {
        Revision = revision;
        Config = config;
        LoadedAt = loadedAt;
        AllRoutes = allRoutes;
        _routesByListener = routesByListener;
        Routes = routes;
        Issuers = issuers;
    }

    /// <summary>Monotonic revision, 1 for the first config.</summary>
    public long Revision { get; }
    public GatehouseConfig Config { get; }
    public DateTimeOffset LoadedAt { get; }
    /// <summary>Every route, for hosts that are not bound to a listener (explain, ext_authz without a listener filter).</summary>
    public RouteTable<CompiledRoute> AllRoutes { get; }
    public IReadOnlyList<CompiledRoute> Routes { get; }
    public IReadOnlyDictionary<string, IssuerRuntime> Issuers { get; }

    /// <summary>The compiled route named <paramref name="name"/> (route names are unique, <c>check</c> refuses duplicates),
    /// or null. Hosts that forward resolve <see cref="Model.Decision.RouteName"/> here, on the snapshot they decided on.</summary>
    public CompiledRoute? Route(string? name)
    {
        if (name is null)
        {
            return null;
        }
        // Note: built on first use; a race builds the same map twice, which is harmless (the snapshot is immutable).
        var byName = _routesByName ??= Routes.ToFrozenDictionary(r => r.Name, StringComparer.Ordinal);
        return byName.GetValueOrDefault(name);
    }

    private FrozenDictionary<string, CompiledRoute>? _routesByName;

    /// <summary>The route table serving a listener (its <c>routes:</c> list, or every route).</summary>
    public RouteTable<CompiledRoute> RoutesFor(string? listener) =>
        listener is not null && _routesByListener.TryGetValue(listener, out var table) ? table : AllRoutes;

    /// <summary>
    /// True when some policy reads request headers (<c>when: headers.NAME</c>): decisions then depend on inputs the
    /// ext_authz decision cache key does not cover, so the cache is bypassed.
    /// </summary>
    public bool PoliciesReadHeaders { get; init; }

    /// <summary>The compiled <c>txn_tokens</c> section (signing keys, minter), or null when the config has none.</summary>
    public Tokens.TxnTokens.TxnTokenRuntime? TxnTokens { get; init; }

    /// <summary>Compiled <c>listeners[].dpop</c> settings by listener name (listeners without the block are absent).</summary>
    public IReadOnlyDictionary<string, Tokens.Dpop.DpopSettings> DpopByListener { get; init; } = new Dictionary<string, Tokens.Dpop.DpopSettings>();

    /// <summary>The DPoP settings of a listener, or the defaults.</summary>
    public Tokens.Dpop.DpopSettings DpopFor(string? listener) =>
        listener is not null && DpopByListener.TryGetValue(listener, out var settings) ? settings : Tokens.Dpop.DpopSettings.Default;

    /// <summary>Ready when every issuer has keys not older than <c>max_stale</c> (or is introspection-only).</summary>
    public bool IsReady
    {
        get
        {
            foreach (var issuer in Issuers.Values)
            {
                if (!issuer.IsReady)
                {
                    return false;
                }
            }
            return true;
        }
    }
}
