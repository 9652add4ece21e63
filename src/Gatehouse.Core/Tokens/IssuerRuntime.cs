using Gatehouse.Configuration;
using Gatehouse.Tokens.Introspection;
using Gatehouse.Tokens.Jwks;
using Gatehouse.Tokens.Jwt;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tokens;

/// <summary>
/// The runtime of one configured issuer: its key lifecycle (JWKS file, jwks_uri or OIDC discovery), its HMAC secret
/// when configured, and its RFC 7662 introspection client. Created when a config snapshot is compiled and reused
/// across reloads while <see cref="SameSettings"/> holds, so keys and caches survive a reload.
/// </summary>
public sealed class IssuerRuntime : IAsyncDisposable
{
    private readonly JwksKeyStore? _keys;
    private readonly TimeProvider _time;

    /// <summary>Creates the runtime; no I/O happens until <see cref="StartAsync"/>.</summary>
    /// <param name="config">The issuer's settings.</param>
    /// <param name="httpClient">The backchannel for JWKS, discovery and introspection.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <param name="sharedCache">With <c>state.backend: redis</c>, the store replicas share introspection answers through.</param>
    public IssuerRuntime(IssuerConfig config, HttpClient httpClient, TimeProvider timeProvider, ILoggerFactory loggerFactory, State.IStateStore? sharedCache = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Config = config;
        _time = timeProvider;
        var logger = loggerFactory.CreateLogger("Gatehouse.Tokens");
        Logger = logger;
        AllowedAlgorithms = new HashSet<string>(config.Algorithms.Where(a => !string.Equals(a, "none", StringComparison.OrdinalIgnoreCase)), StringComparer.Ordinal);
        if (JwksKeyStore.HasSource(config))
        {
            _keys = new JwksKeyStore(config, httpClient, timeProvider, logger);
            _keys.FetchCompleted += ok => FetchCompleted?.Invoke(Name, ok);
        }

        if (config.HmacSecretFile is not null)
        {
            Hmac = new HmacKeySource(config.HmacSecretFile);
        }

        if (IssuerTemplate.IsTemplate(config.Issuer) && IssuerTemplate.Problem(config.Issuer) is null)
        {
            Template = IssuerTemplate.Create(config.Issuer, config.Tenants);
        }

        if (config.Introspection is not null && !string.IsNullOrEmpty(config.Introspection.Endpoint))
        {
            Introspection = new IntrospectionClient(this, config, httpClient, timeProvider, logger, sharedCache);
            Introspection.RequestCompleted += ok => IntrospectionCompleted?.Invoke(Name, ok);
        }
    }

    /// <summary>The issuer's configuration.</summary>
    public IssuerConfig Config { get; }

    /// <summary>The matcher of a <c>{tenantid}</c> issuer (Entra ID multi-tenant); null for an exact issuer.</summary>
    public IssuerTemplate? Template { get; }

    /// <summary>The name routes refer to.</summary>
    public string Name => Config.Name;

    /// <summary>Readiness: true once keys were loaded at least once, or when the issuer has no JWKS source.</summary>
    public bool KeysLoaded => _keys is null || _keys.HasLoaded;

    /// <summary>
    /// Ready to validate tokens: keys loaded and not older than <c>max_stale</c> (past it every request of this issuer
    /// gets 503 <c>keys.unavailable</c>, so a replica in that state must leave the load balancer: <c>/readyz</c>).
    /// </summary>
    public bool IsReady => _keys is null || _keys.IsUsable(_time.GetUtcNow());

    /// <summary>A snapshot of the key lifecycle, for metrics and admin endpoints.</summary>
    public KeyState KeyState => _keys?.GetState() ?? KeyState.NotApplicable;

    /// <summary>Raised after every key fetch attempt: (issuer name, success).</summary>
    public event Action<string, bool>? FetchCompleted;

    /// <summary>Raised after every introspection request that was sent: (issuer name, success). Circuit-open answers are not sent.</summary>
    public event Action<string, bool>? IntrospectionCompleted;

    internal JwksKeyStore? Keys => _keys;

    internal HmacKeySource? Hmac { get; }

    internal IntrospectionClient? Introspection { get; }

    internal IReadOnlySet<string> AllowedAlgorithms { get; }

    internal ILogger Logger { get; }

    /// <summary>
    /// Prefetches keys (never throws when the IdP is down: the background loop keeps retrying with backoff), then
    /// starts the background refresh.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken) => _keys?.StartAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Stops background work and revokes this issuer's keys (their cached tokens stop validating).</summary>
    public ValueTask DisposeAsync() => _keys?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>
    /// Where the issuer's metadata document lives: OpenID Connect Discovery for access-token issuers, RFC 8414
    /// (<c>/.well-known/oauth-authorization-server</c>) for a Txn-Token Service; <c>discovery_uri</c> when set.
    /// </summary>
    public static string MetadataUrl(IssuerConfig config) => JwksKeyStore.MetadataUrl(config);

    /// <summary>
    /// Deep equality of two issuer configs (records compare list members by reference). When true, a reload may
    /// keep the existing runtime.
    /// </summary>
    public static bool SameSettings(IssuerConfig a, IssuerConfig b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a with { Audiences = [], Algorithms = [], RoleMappings = [], Tenants = [] } == b with { Audiences = [], Algorithms = [], RoleMappings = [], Tenants = [] }
            && a.Audiences.SequenceEqual(b.Audiences, StringComparer.Ordinal)
            && a.Tenants.SequenceEqual(b.Tenants, StringComparer.Ordinal)
            && a.Algorithms.SequenceEqual(b.Algorithms, StringComparer.Ordinal)
            && a.RoleMappings.SequenceEqual(b.RoleMappings);
    }
}
