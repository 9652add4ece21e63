using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gatehouse.Outbound;

/// <summary>
/// Counters of outbound token acquisition, on the Gatehouse meter (exported by <c>/metrics</c>):
/// <c>gatehouse_outbound_token_requests_total{route,grant,result}</c> — token-endpoint calls by result
/// (issued|refused|unavailable) — and <c>gatehouse_outbound_token_cache_total{route,grant,result}</c> — lookups
/// answered from the cache (hit), by a call (miss), or by a still-valid token while the endpoint failed (stale).
/// </summary>
public sealed class OutboundTokenMetrics
{
    private readonly Counter<long> _requests;
    private readonly Counter<long> _cache;

    public OutboundTokenMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _requests = meter.CreateCounter<long>("gatehouse.outbound.token.requests", "{request}",
            "Token endpoint calls of outbound routes by route, grant (client_credentials|exchange) and result (issued|refused|unavailable).");
        _cache = meter.CreateCounter<long>("gatehouse.outbound.token.cache", "{lookup}",
            "Outbound token lookups by route, grant and result (hit|miss|stale).");
    }

    public void RecordRequest(string route, string grant, TokenEndpointOutcome outcome)
    {
        var tags = new TagList
        {
            { "route", route },
            { "grant", grant },
            { "result", outcome switch { TokenEndpointOutcome.Issued => "issued", TokenEndpointOutcome.Refused => "refused", _ => "unavailable" } },
        };
        _requests.Add(1, in tags);
    }

    public void RecordCache(string route, string grant, string result)
    {
        var tags = new TagList { { "route", route }, { "grant", grant }, { "result", result } };
        _cache.Add(1, in tags);
    }
}
