using System.Collections.Concurrent;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Cache;

namespace Gatehouse.Outbound;

/// <summary>
/// Replacement Txn-Tokens for one outbound route (<c>outbound.txn_token.replace</c>; draft-ietf-oauth-transaction-tokens-10
/// §7.4): the app's Txn-Token goes to the Txn-Token Service as <c>subject_token</c> and comes back narrowed to the
/// route's scopes. A fan-out of one transaction to the same peer reuses the replacement: cached by the SHA-256 of the
/// app's Txn-Token (never the token), until 5 s before the replacement's <c>exp</c> and never past the app's token's
/// own <c>exp</c>; bounded. Refusals are not cached.
/// </summary>
public sealed class TxnTokenReplacer : IDisposable
{
    private const int MaxEntries = 10_000;
    private static readonly TimeSpan s_margin = TimeSpan.FromSeconds(5);

    private readonly string _route;
    private readonly OutboundTxnTokenConfig _config;
    private readonly TokenEndpointClient _client;
    private readonly TimeProvider _time;
    private readonly OutboundTokenMetrics? _metrics;
    private readonly ConcurrentDictionary<Hash256, (OutboundTokenResult Token, DateTimeOffset NotAfter)> _cache = new();

    private readonly string _audience;

    /// <param name="route">The route name (metrics).</param>
    /// <param name="config">The route's <c>outbound.txn_token</c>.</param>
    /// <param name="audience">The trust domain sent as <c>audience</c>.</param>
    /// <param name="client">The token endpoint client of the Txn-Token Service (mTLS channel).</param>
    /// <param name="time">Clock of the cache.</param>
    /// <param name="metrics">Outbound token metrics, or null.</param>
    public TxnTokenReplacer(string route, OutboundTxnTokenConfig config, string audience, TokenEndpointClient client, TimeProvider time, OutboundTokenMetrics? metrics)
    {
        _audience = audience;
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(client);
        _route = route;
        _config = config;
        _client = client;
        _time = time;
        _metrics = metrics;
        _client.Completed += (grant, outcome) => _metrics?.RecordRequest(_route, grant, outcome);
    }

    /// <summary>The replacement of <paramref name="txnToken"/>, from the cache when a live one exists.</summary>
    public async ValueTask<OutboundTokenResult> ReplaceAsync(string txnToken, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(txnToken))
        {
            return new OutboundTokenResult { Failure = OutboundTokenFailure.SubjectMissing };
        }

        var key = TokenFingerprint.ComputeHash(txnToken);
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out var entry))
        {
            if (now < entry.NotAfter)
            {
                _metrics?.RecordCache(_route, "txn_token_replace", "hit");
                return entry.Token with { FromCache = true };
            }

            _cache.TryRemove(new KeyValuePair<Hash256, (OutboundTokenResult, DateTimeOffset)>(key, entry));
        }

        _metrics?.RecordCache(_route, "txn_token_replace", "miss");
        var result = OutboundTokenResult.From(await _client.ReplaceTxnTokenAsync(txnToken, _audience, _config.Scopes, cancellationToken).ConfigureAwait(false));
        if (!result.Succeeded)
        {
            return result;
        }

        var notAfter = result.ExpiresAt - s_margin;
        if (Tokens.Jwt.JwtParser.CountDots(txnToken, out var first, out var second) == 2
            && Tokens.Jwt.JwtParser.Parse(txnToken, first, second).Exp is { } exp
            && TokenAuthenticator.FromNumericDate(exp) < notAfter)
        {
            // A replacement never outlives the authority it was derived from (§7.4: the service bounds it the same way).
            notAfter = TokenAuthenticator.FromNumericDate(exp);
        }

        if (notAfter > now)
        {
            if (_cache.Count >= MaxEntries)
            {
                foreach (var pair in _cache)
                {
                    if (pair.Value.NotAfter <= now || _cache.Count >= MaxEntries * 9 / 10)
                    {
                        _cache.TryRemove(pair);
                    }
                }
            }

            _cache[key] = (result, notAfter);
        }

        return result;
    }

    public void Dispose() => _client.Dispose();
}
