using Gatehouse.Http;
using System.Net;
using System.Text.Json;
using Gatehouse.Configuration;
using Microsoft.Extensions.Logging;
using Polly;

namespace Gatehouse.Tokens.Jwks;

/// <summary>Outcome of a key lookup.</summary>
internal enum KeyLookup
{
    Found,
    /// <summary>No key was ever loaded, or the last-good keys are older than max_stale: 503.</summary>
    Unavailable,
    UnknownKid,
    AlgorithmMismatch,
}

/// <summary>
/// The JWKS lifecycle of one issuer (see src/Gatehouse.Core/Tokens/README.md for the invariants):
/// prefetch at start; retry with exponential backoff until the first success; background refresh every
/// refresh_interval ±10%; one single-flight re-fetch on an unknown kid, at most once per min_refresh_interval;
/// last-good keys served through an outage up to max_stale (stale-if-error), then unavailable.
/// All time comes from the <see cref="TimeProvider"/>.
/// </summary>
internal sealed class JwksKeyStore : IAsyncDisposable
{
    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(30);

    private readonly IssuerConfig _config;
    private readonly KeyRefreshConfig _refresh;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly CancellationTokenSource _cts = new();
    private readonly Lock _gate = new();
    private readonly string _sourceKind;
    private readonly string _sourceDisplay;

    private volatile KeySet? _keys;
    private volatile bool _disposed;
    private Task<bool>? _inflight;
    private DateTimeOffset _lastOnDemand = DateTimeOffset.MinValue;
    // Note: UTC ticks in a long (0 = never) so the hot path reads it atomically without a lock.
    private long _lastSuccessTicks;
    private DateTimeOffset? _lastFailureAt;
    private string? _lastFailure;
    private int _consecutiveFailures;
    private int _fileGeneration;
    private Task? _loop;
    private FileSystemWatcher? _watcher;

    public JwksKeyStore(IssuerConfig config, HttpClient http, TimeProvider time, ILogger logger)
    {
        _config = config;
        _refresh = config.Keys;
        _http = http;
        _time = time;
        _logger = logger;
        _pipeline = OutboundHttp.CreatePipeline(time, _refresh.FetchTimeout, config.CircuitBreaker);
        if (config.JwksFile is not null)
        {
            _sourceKind = "file";
            _sourceDisplay = Path.GetFullPath(config.JwksFile);
        }
        else if (config.JwksUri is not null)
        {
            _sourceKind = "jwks_uri";
            _sourceDisplay = config.JwksUri;
        }
        else
        {
            _sourceKind = "discovery";
            _sourceDisplay = MetadataUrl(config);
        }
    }

    /// <summary>Raised after every fetch attempt (true on success).</summary>
    public event Action<bool>? FetchCompleted;

    /// <summary>
    /// Where the issuer's metadata lives: <c>discovery_uri</c> when set; for an access-token issuer OpenID Connect
    /// Discovery 1.0 §4 (issuer without trailing slash + <c>/.well-known/openid-configuration</c>); for a Txn-Token
    /// Service RFC 8414 §3 (<c>/.well-known/oauth-authorization-server</c> inserted between the host and the issuer's
    /// path). Both documents carry <c>issuer</c> and <c>jwks_uri</c>, read the same way.
    /// </summary>
    public static string MetadataUrl(IssuerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DiscoveryUri is not null)
        {
            return config.DiscoveryUri;
        }

        if (config.Kind != IssuerKind.TxnToken || !Uri.TryCreate(config.Issuer, UriKind.Absolute, out var issuer))
        {
            return config.Issuer.TrimEnd('/') + "/.well-known/openid-configuration";
        }

        var path = issuer.AbsolutePath.TrimEnd('/');
        return issuer.GetLeftPart(UriPartial.Authority) + "/.well-known/oauth-authorization-server" + path;
    }

    public static bool HasSource(IssuerConfig c) => c.JwksFile is not null || c.JwksUri is not null || c.Discovery || c.DiscoveryUri is not null;

    public bool HasLoaded => _keys is not null;

    /// <summary>Prefetch (never throws), then start the background loop and, for a file, the watcher.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_sourceKind == "file")
        {
            StartWatcher();
        }

        try
        {
            await FetchSharedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Note: readiness stays false; the loop below keeps trying.
        }

        _loop ??= Task.Run(() => LoopAsync(_cts.Token));
    }

    /// <summary>Finds the verification key for a token; never blocks.</summary>
    public KeyLookup Find(string? kid, string alg, out SigningKey? key)
    {
        key = null;
        var keys = _keys;
        if (keys is null || _disposed || !IsFresh(_time.GetUtcNow()))
        {
            return KeyLookup.Unavailable;
        }

        key = kid is null ? keys.SingleFitting(alg) : keys.ByKid(kid);
        if (key is null)
        {
            return KeyLookup.UnknownKid;
        }

        return key.Fits(alg) ? KeyLookup.Found : KeyLookup.AlgorithmMismatch;
    }

    /// <summary>Keys exist and are not older than max_stale.</summary>
    public bool IsUsable(DateTimeOffset now) => _keys is not null && !_disposed && IsFresh(now);

    private bool IsFresh(DateTimeOffset now)
    {
        var last = Volatile.Read(ref _lastSuccessTicks);
        return last != 0 && now.UtcTicks - last <= _refresh.MaxStale.Ticks;
    }

    /// <summary>
    /// An unknown kid: join an in-flight fetch, or start one unless the previous on-demand fetch was less than
    /// min_refresh_interval ago. Returns false when rate-limited (the caller decides with the keys it has).
    /// </summary>
    public async ValueTask<bool> RefreshForUnknownKidAsync(string? kid, CancellationToken cancellationToken)
    {
        Task<bool> task;
        lock (_gate)
        {
            if (_inflight is { IsCompleted: false } running)
            {
                task = running;
            }
            else
            {
                var now = _time.GetUtcNow();
                if (now - _lastOnDemand < _refresh.MinRefreshInterval)
                {
                    TokenLog.RefetchRateLimited(_logger, _config.Name, _refresh.MinRefreshInterval);
                    return false;
                }

                _lastOnDemand = now;
                TokenLog.UnknownKidRefetch(_logger, _config.Name, kid);
                task = StartFetchLocked();
            }
        }

        await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public KeyState GetState()
    {
        var now = _time.GetUtcNow();
        var keys = _keys;
        var ticks = Volatile.Read(ref _lastSuccessTicks);
        DateTimeOffset? last = ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        return new KeyState
        {
            Source = _sourceKind,
            LastSuccessfulFetch = last,
            LastFailureAt = _lastFailureAt,
            LastFailure = _lastFailure,
            KeyCount = keys?.Count ?? 0,
            IsStale = keys is not null && _lastFailure is not null,
            IsExpired = !IsUsable(now),
            Age = last is null ? null : now - last.Value,
        };
    }

    private Task<bool> FetchSharedAsync()
    {
        lock (_gate)
        {
            return _inflight is { IsCompleted: false } running ? running : StartFetchLocked();
        }
    }

    private Task<bool> StartFetchLocked()
    {
        var token = _cts.Token;
        var task = Task.Run(() => FetchOnceAsync(token), CancellationToken.None);
        _inflight = task;
        return task;
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var delay = _consecutiveFailures == 0
                ? Jitter(_refresh.RefreshInterval)
                : Jitter(Min(TimeSpan.FromTicks(s_firstBackoff.Ticks << Math.Min(_consecutiveFailures - 1, 16)), Min(s_maxBackoff, _refresh.RefreshInterval)));
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                await FetchSharedAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    // ±10% jitter so a fleet of proxies does not refresh in lock-step.
    private static TimeSpan Jitter(TimeSpan t) => TimeSpan.FromTicks((long)(t.Ticks * (0.9 + (0.2 * Random.Shared.NextDouble()))));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private async Task<bool> FetchOnceAsync(CancellationToken cancellationToken)
    {
        string? error;
        KeySet? set = null;
        try
        {
            var document = await LoadDocumentAsync(cancellationToken).ConfigureAwait(false);
            set = JwksParser.Parse(document, (kid, why) => TokenLog.KeySkipped(_logger, _config.Name, kid, why), out error);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Note: the control plane may catch broadly: a fetch failure must never take the process down.
            error = ex is KeySourceException ? ex.Message : OutboundHttp.Describe(ex);
        }

        var now = _time.GetUtcNow();
        if (set is null)
        {
            lock (_gate)
            {
                _lastFailure = error;
                _lastFailureAt = now;
                _consecutiveFailures++;
            }

            TokenLog.KeysFetchFailed(_logger, _config.Name, _sourceDisplay, error ?? "unknown error");
            var keys = _keys;
            if (keys is null || !IsFresh(now))
            {
                TokenLog.KeysUnavailable(_logger, _config.Name);
            }
            else
            {
                TokenLog.ServingStaleKeys(_logger, _config.Name, TimeSpan.FromTicks(now.UtcTicks - Volatile.Read(ref _lastSuccessTicks)), _refresh.MaxStale);
            }

            FetchCompleted?.Invoke(false);
            return false;
        }

        Install(set, now);
        TokenLog.KeysLoaded(_logger, _config.Name, set.Count, _sourceDisplay);
        FetchCompleted?.Invoke(true);
        return true;
    }

    private void Install(KeySet fresh, DateTimeOffset now)
    {
        lock (_gate)
        {
            var old = _keys;
            var installed = fresh;
            if (old is not null)
            {
                // Keep the same SigningKey instance for a key that stays, so verified-cache entries survive;
                // revoke the keys that left, so their cache entries stop hitting at once.
                var previous = new Dictionary<string, SigningKey>(StringComparer.Ordinal);
                foreach (var k in old.Keys)
                {
                    previous.TryAdd(k.Identity, k);
                }

                var merged = new List<SigningKey>(fresh.Count);
                foreach (var k in fresh.Keys)
                {
                    if (previous.Remove(k.Identity, out var same))
                    {
                        merged.Add(same);
                    }
                    else
                    {
                        merged.Add(k);
                    }
                }

                installed = new KeySet(merged);
                foreach (var gone in previous.Values)
                {
                    gone.Revoke();
                    TokenLog.KeyRemoved(_logger, _config.Name, gone.Kid);
                }
            }

            _keys = installed;
            Volatile.Write(ref _lastSuccessTicks, now.UtcTicks);
            _lastFailure = null;
            _consecutiveFailures = 0;
        }
    }

    private async Task<byte[]> LoadDocumentAsync(CancellationToken cancellationToken)
    {
        var max = _refresh.MaxDocumentBytes;
        switch (_sourceKind)
        {
            case "file":
            {
                var info = new FileInfo(_sourceDisplay);
                if (!info.Exists)
                {
                    throw new KeySourceException($"JWKS file {_sourceDisplay} does not exist");
                }

                if (info.Length > max)
                {
                    throw new KeySourceException($"JWKS file is larger than max_document_bytes ({max})");
                }

                var bytes = await File.ReadAllBytesAsync(_sourceDisplay, cancellationToken).ConfigureAwait(false);
                return bytes.Length > max ? throw new KeySourceException($"JWKS file is larger than max_document_bytes ({max})") : bytes;
            }

            case "jwks_uri":
                return await GetAsync(_sourceDisplay, "jwks_uri", cancellationToken).ConfigureAwait(false);

            default:
            {
                var metadata = await GetAsync(_sourceDisplay, "discovery", cancellationToken).ConfigureAwait(false);
                var jwksUri = ReadDiscovery(metadata);
                return await GetAsync(jwksUri, "jwks_uri", cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private string ReadDiscovery(byte[] metadata)
    {
        string? issuer = null;
        string? jwksUri = null;
        try
        {
            using var doc = JsonDocument.Parse(metadata);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (doc.RootElement.TryGetProperty("issuer", out var i) && i.ValueKind == JsonValueKind.String)
                {
                    issuer = i.GetString();
                }

                if (doc.RootElement.TryGetProperty("jwks_uri", out var j) && j.ValueKind == JsonValueKind.String)
                {
                    jwksUri = j.GetString();
                }
            }
        }
        catch (JsonException ex)
        {
            throw new KeySourceException($"discovery document is not JSON: {ex.Message}");
        }

        // OpenID Connect Discovery 1.0 §4.3: the issuer in the metadata must be identical to the expected one.
        if (!string.Equals(issuer, _config.Issuer, StringComparison.Ordinal))
        {
            throw new KeySourceException($"discovery issuer \"{issuer}\" does not equal the configured issuer \"{_config.Issuer}\"");
        }

        if (jwksUri is null)
        {
            throw new KeySourceException("discovery document has no jwks_uri");
        }

        return jwksUri;
    }

    private async Task<byte[]> GetAsync(string url, string what, CancellationToken cancellationToken)
    {
        if (!OutboundHttp.IsAllowedUrl(url, out var uri))
        {
            throw new KeySourceException($"{what} {url} is not https (plain http is allowed only to loopback)");
        }

        var max = _refresh.MaxDocumentBytes;
        return await OutboundHttp.GetDocumentAsync(_http, _pipeline, uri!, what, max, cancellationToken).ConfigureAwait(false)
            ?? throw new KeySourceException($"{what} document is larger than max_document_bytes ({max})");
    }

    private void StartWatcher()
    {
        var dir = Path.GetDirectoryName(_sourceDisplay);
        if (dir is null || !Directory.Exists(dir))
        {
            return;
        }

        try
        {
            _watcher = new FileSystemWatcher(dir, Path.GetFileName(_sourceDisplay))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += OnFileChanged;
            _watcher.Created += OnFileChanged;
            _watcher.Renamed += OnFileChanged;
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Note: without a watcher the file is still re-read on every refresh and on an unknown kid.
            TokenLog.KeysFetchFailed(_logger, _config.Name, _sourceDisplay, "cannot watch the JWKS file: " + ex.Message);
        }
    }

    private void OnFileChanged(object sender, FileSystemEventArgs e)
    {
        if (_cts.IsCancellationRequested)
        {
            return;
        }

        TokenLog.JwksFileChanged(_logger, _config.Name, _sourceDisplay);
        _ = ReloadAfterFileChangeAsync(Interlocked.Increment(ref _fileGeneration));
    }

    // A change that lands while a fetch is already reading the file must not be lost: wait for that fetch, then
    // read again unless a later change event has taken over.
    private async Task ReloadAfterFileChangeAsync(int generation)
    {
        Task<bool>? running;
        lock (_gate)
        {
            running = _inflight is { IsCompleted: false } r ? r : null;
        }

        if (running is not null)
        {
            await running.ConfigureAwait(false);
            if (Volatile.Read(ref _fileGeneration) != generation)
            {
                return;
            }
        }

        await FetchSharedAsync().ConfigureAwait(false);
    }

    /// <summary>Revokes every key: an issuer that is replaced or removed must stop validating at once.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _cts.CancelAsync().ConfigureAwait(false);
        _watcher?.Dispose();
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        foreach (var k in _keys?.Keys ?? [])
        {
            k.Revoke();
        }

        _cts.Dispose();
    }

    private sealed class KeySourceException(string message) : Exception(message);
}
