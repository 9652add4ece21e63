using System.Collections.Concurrent;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Cache;
using Gatehouse.Tokens.Jwt;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Outbound;

/// <summary>
/// The tokens one outbound route attaches: the workload's own client-credentials token (<c>mode:
/// client_credentials</c>, and the actor token of an exchange) and RFC 8693 exchanges of the app's token (<c>mode:
/// exchange</c>). Exchanges are cached by (subject token SHA-256, audience, resource, scope) — never the raw token —
/// until the issued token's <c>exp</c> less the refresh margin, and never past the subject token's own <c>exp</c>
/// (a cached exchange must not outlive the authority it was derived from); one exchange per key at a time
/// (single flight); the cache is bounded by <c>cache_max_entries</c>. Refusals are not cached.
/// </summary>
public sealed class OutboundTokenSource : IDisposable
{
    private readonly string _route;
    private readonly OutboundTokenConfig _config;
    private readonly TokenEndpointClient _client;
    private readonly TimeProvider _time;
    private readonly OutboundTokenMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly ClientCredentialsCache _own;
    private readonly ClientCredentialsCache? _actor;
    private readonly ConcurrentDictionary<ExchangeKey, ExchangeEntry> _exchanges = new();
    private readonly ConcurrentDictionary<ExchangeKey, Task<OutboundTokenResult>> _inflight = new();
    private readonly string _scope;

    public OutboundTokenSource(string route, OutboundTokenConfig config, TokenEndpointClient client, TimeProvider time, OutboundTokenMetrics? metrics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(client);
        _route = route;
        _config = config;
        _client = client;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _scope = string.Join(' ', config.Scopes);
        _client.Completed += (grant, outcome) => _metrics?.RecordRequest(_route, grant, outcome);
        _own = new ClientCredentialsCache(
            ct => _client.ClientCredentialsAsync(config.Scopes, config.Audience, config.Resource, ct),
            config.RefreshBefore, time, result => _metrics?.RecordCache(_route, "client_credentials", result), OnStaleUse);
        if (config.Actor == OutboundActor.ClientCredentials)
        {
            // Note: the actor token names the workload to the STS; it is not narrowed to the hop (the exchanged token is).
            _actor = new ClientCredentialsCache(
                ct => _client.ClientCredentialsAsync([], null, null, ct),
                config.RefreshBefore, time, result => _metrics?.RecordCache(_route, "actor", result), OnStaleUse);
        }
    }

    public OutboundTokenConfig Config => _config;

    /// <summary>Exchanged tokens currently cached (approximate under concurrency).</summary>
    public int CachedExchanges => _exchanges.Count;

    /// <summary>The workload's own token (RFC 6749 §4.4), from the cache when it is fresh.</summary>
    public ValueTask<OutboundTokenResult> GetClientCredentialsTokenAsync(CancellationToken cancellationToken) => _own.GetAsync(cancellationToken);

    /// <summary>Exchanges <paramref name="subjectToken"/> (RFC 8693 §2.1), from the cache when a live exchange exists.</summary>
    public async ValueTask<OutboundTokenResult> ExchangeAsync(string subjectToken, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(subjectToken))
        {
            return new OutboundTokenResult { Failure = OutboundTokenFailure.SubjectMissing };
        }

        var key = new ExchangeKey(TokenFingerprint.ComputeHash(subjectToken), _config.Audience, _config.Resource, _scope);
        var now = _time.GetUtcNow();
        if (_exchanges.TryGetValue(key, out var entry))
        {
            if (now < entry.NotAfter)
            {
                _metrics?.RecordCache(_route, "exchange", "hit");
                return OutboundTokenResult.From(entry.Token, fromCache: true);
            }

            _exchanges.TryRemove(new KeyValuePair<ExchangeKey, ExchangeEntry>(key, entry));
        }

        _metrics?.RecordCache(_route, "exchange", "miss");
        var mine = new TaskCompletionSource<OutboundTokenResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var shared = _inflight.GetOrAdd(key, mine.Task);
        if (ReferenceEquals(shared, mine.Task))
        {
            _ = Task.Run(async () =>
            {
                OutboundTokenResult result;
                try
                {
                    result = await ExchangeCoreAsync(subjectToken, key).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    result = new OutboundTokenResult { Failure = OutboundTokenFailure.Unavailable, Detail = ex.GetType().Name };
                }

                _inflight.TryRemove(key, out _);
                mine.SetResult(result);
            }, CancellationToken.None);
        }

        return await shared.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<OutboundTokenResult> ExchangeCoreAsync(string subjectToken, ExchangeKey key)
    {
        string? actorToken = null;
        if (_actor is not null)
        {
            var actor = await _actor.GetAsync(CancellationToken.None).ConfigureAwait(false);
            if (!actor.Succeeded)
            {
                // Note: without its own token the workload cannot be named as actor; exchanging without one would
                // silently drop the delegation record, so the request fails (503) instead.
                return new OutboundTokenResult { Failure = OutboundTokenFailure.Unavailable, Error = actor.Error, Detail = "actor token: " + (actor.Error ?? actor.Detail) };
            }

            actorToken = actor.Token;
        }

        var result = await _client.ExchangeAsync(subjectToken, actorToken, _config.Scopes, _config.Audience, _config.Resource, CancellationToken.None).ConfigureAwait(false);
        if (result.Outcome != TokenEndpointOutcome.Issued)
        {
            return OutboundTokenResult.From(result);
        }

        var token = result.Token!;
        var now = _time.GetUtcNow();
        var lifetime = token.ExpiresAt - now;
        var margin = lifetime / 2 < _config.RefreshBefore ? lifetime / 2 : _config.RefreshBefore;
        var notAfter = token.ExpiresAt - margin;
        if (SubjectExpiry(subjectToken) is { } subjectExp && subjectExp < notAfter)
        {
            notAfter = subjectExp;
        }

        if (notAfter > now)
        {
            if (_exchanges.Count >= _config.CacheMaxEntries)
            {
                Trim(now);
            }

            _exchanges[key] = new ExchangeEntry(token, notAfter);
        }

        OutboundTokenLog.Exchanged(_logger, _route, key.Subject.ToFingerprint(), token.Fingerprint, notAfter);
        return OutboundTokenResult.From(token, fromCache: false);
    }

    private void Trim(DateTimeOffset now)
    {
        foreach (var pair in _exchanges)
        {
            if (pair.Value.NotAfter <= now)
            {
                _exchanges.TryRemove(pair);
            }
        }

        // Note: still full of live entries: drop arbitrary ones down to 90 %; a dropped exchange only costs a new call.
        foreach (var pair in _exchanges)
        {
            if (_exchanges.Count < Math.Max(1, _config.CacheMaxEntries * 9 / 10))
            {
                break;
            }

            _exchanges.TryRemove(pair);
        }
    }

    private static DateTimeOffset? SubjectExpiry(string token)
    {
        if (JwtParser.CountDots(token, out var first, out var second) != 2)
        {
            return null;
        }

        var jwt = JwtParser.Parse(token, first, second);
        return jwt.Exp is { } exp ? TokenAuthenticator.FromNumericDate(exp) : null;
    }

    private void OnStaleUse(IssuedToken token) => OutboundTokenLog.UsingCachedToken(_logger, _route, token.Fingerprint, token.ExpiresAt);

    public void Dispose() => _client.Dispose();

    private readonly record struct ExchangeKey(Hash256 Subject, string? Audience, string? Resource, string Scope);

    private sealed record ExchangeEntry(IssuedToken Token, DateTimeOffset NotAfter);
}
