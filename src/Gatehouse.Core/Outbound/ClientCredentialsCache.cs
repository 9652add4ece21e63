namespace Gatehouse.Outbound;

/// <summary>
/// The workload's own client-credentials token (RFC 6749 §4.4) for one set of request parameters: one cached token,
/// replaced ahead of its expiry by a single background refresh (single flight) while callers keep using it; a refresh
/// that fails leaves the cached token in use for as long as it is valid (the IdP may be down); with no valid token,
/// callers share one request and get its answer. A token is never served past its <c>exp</c>.
/// </summary>
internal sealed class ClientCredentialsCache
{
    // Note: after a failed refresh while a cached token still serves, the next attempt waits this long, so an IdP
    // outage costs one call per interval rather than one per request (the circuit breaker bounds it further).
    private static readonly TimeSpan s_retryInterval = TimeSpan.FromSeconds(2);

    private readonly Func<CancellationToken, Task<TokenEndpointResult>> _request;
    private readonly TimeSpan _refreshBefore;
    private readonly TimeProvider _time;
    private readonly Action<string> _recordCache;
    private readonly Action<IssuedToken> _onStaleUse;
    private readonly Lock _gate = new();
    private Entry? _current;
    private Task<TokenEndpointResult>? _inflight;
    private DateTimeOffset _retryAfter;

    public ClientCredentialsCache(
        Func<CancellationToken, Task<TokenEndpointResult>> request,
        TimeSpan refreshBefore,
        TimeProvider time,
        Action<string> recordCache,
        Action<IssuedToken> onStaleUse)
    {
        _request = request;
        _refreshBefore = refreshBefore;
        _time = time;
        _recordCache = recordCache;
        _onStaleUse = onStaleUse;
    }

    /// <summary>The cached token's fingerprint (tests, diagnostics).</summary>
    public string? CachedFingerprint => Volatile.Read(ref _current)?.Token.Fingerprint;

    public async ValueTask<OutboundTokenResult> GetAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var cached = Volatile.Read(ref _current);
        if (cached is not null && now < cached.Token.ExpiresAt)
        {
            if (now >= cached.RefreshAt && now >= _retryAfter)
            {
                // Ahead of expiry: one caller starts the refresh; everyone (this caller too) keeps the valid token.
                _ = Refresh();
            }

            _recordCache("hit");
            return OutboundTokenResult.From(cached.Token, fromCache: true);
        }

        _recordCache("miss");
        var result = await Refresh().WaitAsync(cancellationToken).ConfigureAwait(false);
        return OutboundTokenResult.From(result);
    }

    private Task<TokenEndpointResult> Refresh()
    {
        lock (_gate)
        {
            return _inflight ??= Task.Run(RunAsync, CancellationToken.None);
        }
    }

    private async Task<TokenEndpointResult> RunAsync()
    {
        TokenEndpointResult result;
        try
        {
            // Note: not cancelled by any one caller; others may be waiting on it.
            result = await _request(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            result = TokenEndpointResult.Unavailable(ex.GetType().Name);
        }

        var now = _time.GetUtcNow();
        if (result.Outcome == TokenEndpointOutcome.Issued)
        {
            var token = result.Token!;
            // Note: refresh_before is capped at half the lifetime, so a short-lived token is not refreshed on every request.
            var lifetime = token.ExpiresAt - now;
            var margin = lifetime / 2 < _refreshBefore ? lifetime / 2 : _refreshBefore;
            Volatile.Write(ref _current, new Entry(token, token.ExpiresAt - margin));
        }
        else
        {
            _retryAfter = now + s_retryInterval;
            if (Volatile.Read(ref _current) is { } cached && now < cached.Token.ExpiresAt)
            {
                _recordCache("stale");
                _onStaleUse(cached.Token);
            }
        }

        lock (_gate)
        {
            _inflight = null;
        }

        return result;
    }

    private sealed record Entry(IssuedToken Token, DateTimeOffset RefreshAt);
}
