using Gatehouse.Http;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Microsoft.Extensions.Logging;
using Polly;

namespace Gatehouse.Identity.Spiffe;

/// <summary>What a listener's readiness and <c>/readyz</c> show about one federated trust domain.</summary>
public sealed record FederatedBundleState
{
    public required string TrustDomain { get; init; }
    public required string Endpoint { get; init; }
    /// <summary>A bundle was fetched at least once.</summary>
    public bool Loaded { get; init; }
    /// <summary>Loaded and not older than <c>max_stale</c>: the trust domain's peers are accepted.</summary>
    public bool Usable { get; init; }
    public DateTimeOffset? LastSuccessfulFetch { get; init; }
    public TimeSpan? Age { get; init; }
    public DateTimeOffset? LastFailureAt { get; init; }
    public string? LastFailure { get; init; }
    public long? Sequence { get; init; }
    public int AuthorityCount { get; init; }
}

/// <summary>
/// The X.509 authorities of one foreign trust domain, fetched from its SPIFFE bundle endpoint (SPIFFE Trust Domain
/// and Bundle spec §5, <c>https_web</c>) and refreshed in the background with the same outage rules as JWKS
/// (docs/mtls.md, "Federation"): prefetch at start, refresh every <c>refresh_interval</c> ±10% (sooner when the
/// endpoint's <c>spiffe_refresh_hint</c> asks, never below 30 s), exponential backoff after a failure, one fetch at a
/// time (single flight), last good bundle kept up to <c>max_stale</c>, then the trust domain's peers are refused.
/// </summary>
/// <remarks>
/// Concurrency: the installed bundle is an immutable <see cref="SpiffeBundleDocument"/> behind a volatile reference,
/// and the time of the last success a long read atomically, so handshakes never lock. The outbound rules (https
/// only except loopback, size limit, timeout inside a circuit breaker) are the JWKS fetcher's
/// (<see cref="OutboundHttp"/>). The loop is not shared with <c>JwksKeyStore</c>: that one interleaves unknown-kid
/// re-fetches and file watching with its schedule; this one has neither.
/// </remarks>
public sealed class FederatedBundleSource : IAsyncDisposable
{
    /// <summary>Shortest refresh period a <c>spiffe_refresh_hint</c> can ask for.</summary>
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromSeconds(30);

    private const int MaxDocumentBytes = 512 * 1024;
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(30);

    private readonly TrustBundleEndpointConfig _config;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly CancellationTokenSource _cts = new();
    private readonly Lock _gate = new();
    private volatile SpiffeBundleDocument? _bundle;
    private long _lastSuccessTicks;
    private Task<bool>? _inflight;
    private Task? _loop;
    private string? _lastFailure;
    private DateTimeOffset? _lastFailureAt;
    private int _consecutiveFailures;
    private volatile bool _disposed;

    /// <summary>Creates the source; nothing is fetched until <see cref="StartAsync"/> or <see cref="RefreshNowAsync"/>.</summary>
    /// <param name="trustDomain">The trust domain the endpoint is configured for (SPIFFE bundle spec §5: the binding is explicit).</param>
    /// <param name="config">Endpoint and lifecycle settings.</param>
    /// <param name="http">The client used for the endpoint (it decides which roots authenticate the endpoint's TLS).</param>
    /// <param name="time">Source of every delay, timeout and age.</param>
    /// <param name="logger">Diagnostics (EventIds 1606–1609).</param>
    public FederatedBundleSource(string trustDomain, TrustBundleEndpointConfig config, HttpClient http, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        TrustDomain = trustDomain;
        _config = config;
        _http = http;
        _time = time;
        _logger = logger;
        _pipeline = OutboundHttp.CreatePipeline(time, config.FetchTimeout, new CircuitBreakerConfig());
    }

    /// <summary>The trust domain this endpoint vouches for.</summary>
    public string TrustDomain { get; }

    /// <summary>Raised after every fetch attempt (true when a bundle was installed).</summary>
    public event Action<bool>? FetchCompleted;

    /// <summary>Prefetches (never throws; failures are retried by the loop), then starts the background refresh.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FetchSharedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Note: the trust domain stays unusable until the loop below succeeds.
        }

        lock (_gate)
        {
            _loop ??= Task.Run(() => LoopAsync(_cts.Token));
        }
    }

    /// <summary>Fetches now, or joins the fetch in flight. True when a bundle was installed.</summary>
    public Task<bool> RefreshNowAsync() => FetchSharedAsync();

    /// <summary>
    /// The authorities to verify a peer of <see cref="TrustDomain"/> against: false when no bundle was ever fetched
    /// or the last good one is older than <c>max_stale</c> (the peer is then refused; never another bundle).
    /// </summary>
    public bool TryGetAuthorities([NotNullWhen(true)] out X509Certificate2Collection? authorities)
    {
        var bundle = _bundle;
        if (bundle is null || _disposed || !IsFresh(_time.GetUtcNow()))
        {
            authorities = null;
            return false;
        }

        authorities = bundle.Authorities;
        return true;
    }

    /// <summary>A snapshot for readiness and metrics.</summary>
    public FederatedBundleState GetState()
    {
        var now = _time.GetUtcNow();
        var bundle = _bundle;
        var ticks = Volatile.Read(ref _lastSuccessTicks);
        DateTimeOffset? last = ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        lock (_gate)
        {
            return new FederatedBundleState
            {
                TrustDomain = TrustDomain,
                Endpoint = _config.Endpoint,
                Loaded = bundle is not null,
                Usable = bundle is not null && !_disposed && IsFresh(now),
                LastSuccessfulFetch = last,
                Age = last is null ? null : now - last.Value,
                LastFailureAt = _lastFailureAt,
                LastFailure = _lastFailure,
                Sequence = bundle?.Sequence,
                AuthorityCount = bundle?.Authorities.Count ?? 0,
            };
        }
    }

    private bool IsFresh(DateTimeOffset now)
    {
        var last = Volatile.Read(ref _lastSuccessTicks);
        return last != 0 && now.UtcTicks - last <= _config.MaxStale.Ticks;
    }

    private Task<bool> FetchSharedAsync()
    {
        lock (_gate)
        {
            if (_inflight is { IsCompleted: false } running)
            {
                return running;
            }

            var token = _cts.Token;
            var task = Task.Run(() => FetchOnceAsync(token), CancellationToken.None);
            _inflight = task;
            return task;
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(NextDelay(), _time, cancellationToken).ConfigureAwait(false);
                await FetchSharedAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private TimeSpan NextDelay()
    {
        // SPIFFE bundle spec §4.1.2 / §6.2: the refresh hint is a hint; a shorter one than configured is honoured
        // (faster key redaction), bounded below so a hostile endpoint cannot make us poll it in a tight loop.
        var interval = _config.RefreshInterval;
        if (_bundle?.RefreshHint is { } hint && hint < interval)
        {
            interval = hint < MinRefreshInterval ? MinRefreshInterval : hint;
        }

        int failures;
        lock (_gate)
        {
            failures = _consecutiveFailures;
        }

        if (failures > 0)
        {
            var backoff = TimeSpan.FromTicks(s_firstBackoff.Ticks << Math.Min(failures - 1, 16));
            var cap = s_maxBackoff < interval ? s_maxBackoff : interval;
            interval = backoff < cap ? backoff : cap;
        }

        // ±10% jitter so a fleet of proxies does not poll the endpoint in lock-step.
        return TimeSpan.FromTicks((long)(interval.Ticks * (0.9 + (0.2 * Random.Shared.NextDouble()))));
    }

    private async Task<bool> FetchOnceAsync(CancellationToken cancellationToken)
    {
        string? error = null;
        SpiffeBundleDocument? fetched = null;
        try
        {
            var body = await GetAsync(cancellationToken).ConfigureAwait(false);
            if (!SpiffeBundleDocument.TryParse(body, out fetched, out var parseError))
            {
                error = "invalid bundle: " + parseError;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Note: the control plane may catch broadly: a fetch failure must never take the process down.
            error = ex is BundleSourceException ? ex.Message : OutboundHttp.Describe(ex);
        }

        var now = _time.GetUtcNow();
        var current = _bundle;
        // §4.1.1: the sequence only increases; a lower one is an old bundle replayed (or a rollback) and is refused,
        // so an attacker who can replay an old answer cannot bring back a removed authority.
        if (fetched is not null && current?.Sequence is { } installed && fetched.Sequence is { } offered && offered < installed)
        {
            error = $"spiffe_sequence went backwards ({offered} < {installed})";
            fetched = null;
        }

        if (fetched is null)
        {
            lock (_gate)
            {
                _lastFailure = error;
                _lastFailureAt = now;
                _consecutiveFailures++;
            }

            if (current is not null && IsFresh(now))
            {
                SpiffeBundleLog.ServingStale(_logger, TrustDomain, _config.Endpoint, error ?? "unknown error", _config.MaxStale);
            }
            else
            {
                SpiffeBundleLog.Unavailable(_logger, TrustDomain, _config.Endpoint, error ?? "unknown error");
            }

            FetchCompleted?.Invoke(false);
            return false;
        }

        lock (_gate)
        {
            _bundle = fetched;
            Volatile.Write(ref _lastSuccessTicks, now.UtcTicks);
            _lastFailure = null;
            _consecutiveFailures = 0;
        }

        SpiffeBundleLog.Loaded(_logger, TrustDomain, fetched.Authorities.Count, fetched.Sequence, _config.Endpoint);
        FetchCompleted?.Invoke(true);
        return true;
    }

    private async Task<byte[]> GetAsync(CancellationToken cancellationToken)
    {
        if (!OutboundHttp.IsAllowedUrl(_config.Endpoint, out var uri))
        {
            throw new BundleSourceException($"bundle endpoint {_config.Endpoint} is not https (plain http is allowed only to loopback)");
        }

        return await OutboundHttp.GetDocumentAsync(_http, _pipeline, uri!, "bundle endpoint", MaxDocumentBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new BundleSourceException($"bundle document is larger than {MaxDocumentBytes} bytes");
    }

    /// <summary>Stops the background refresh; the trust domain is unusable afterwards.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _cts.CancelAsync().ConfigureAwait(false);
        Task? loop;
        Task? inflight;
        lock (_gate)
        {
            loop = _loop;
            inflight = _inflight;
        }

        foreach (var task in new[] { loop, inflight })
        {
            if (task is null)
            {
                continue;
            }

            try
            {
                await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _cts.Dispose();
    }

    private sealed class BundleSourceException(string message) : Exception(message);
}
