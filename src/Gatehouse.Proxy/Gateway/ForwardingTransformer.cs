using Gatehouse.Decisions;
using Gatehouse.Model;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy.Gateway;

/// <summary>Per-request forwarding instructions, carried from the decision to the transformer.</summary>
internal sealed class ForwardingFeature
{
    public required Decision Decision { get; init; }
    public required string Query { get; init; }
    /// <summary>The x-forwarded-client-cert value to send upstream, or null to send none.</summary>
    public string? ForwardedClientCert { get; init; }
    /// <summary>The W3C trace context for the upstream request.</summary>
    public TraceContext Trace { get; init; }
    /// <summary>The Txn-Token minted for this request (gateway listeners with <c>txn_tokens.mint_at_gateway</c>), or null.</summary>
    public string? TxnToken { get; init; }
    /// <summary>The header that carries <see cref="TxnToken"/> (<c>txn_tokens.header</c>).</summary>
    public string? TxnTokenHeader { get; init; }
}

/// <summary>
/// Shapes the upstream request: the normalized path (the very path the policy saw), hop-by-hop headers removed
/// (by YARP's default transform), spoofable identity headers stripped, claim headers and X-Forwarded-* set.
/// </summary>
internal sealed class ForwardingTransformer : HttpTransformer
{
    public static readonly ForwardingTransformer Instance = new();

    // Headers a caller must never be able to set on the upstream request: Gatehouse is their only author.
    private static readonly string[] s_alwaysStripped =
    [
        "x-forwarded-client-cert",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "forwarded",
        DenialWriter.ReasonHeader,
    ];

    public override async ValueTask TransformRequestAsync(
        HttpContext httpContext,
        HttpRequestMessage proxyRequest,
        string destinationPrefix,
        CancellationToken cancellationToken)
    {
        var feature = httpContext.Features.Get<ForwardingFeature>()
            ?? throw new InvalidOperationException("Forwarding without a decision.");
        var decision = feature.Decision;

        // Note: the upstream receives the normalized path, never the raw one, so the policy and the upstream
        // cannot disagree about which resource is addressed. Set before the base transform, which builds a
        // RequestUri only when none is set (`??=`): one Uri parse per request instead of two.
        proxyRequest.RequestUri = new Uri(destinationPrefix.TrimEnd('/') + decision.NormalizedPath + feature.Query, UriKind.Absolute);

        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);

        var headers = proxyRequest.Headers;
        // RFC 9110 §7.6.1: first, because Gatehouse's own headers below must survive whatever the caller nominates.
        ConnectionOptions.RemoveNominated(httpContext.Request.Headers.Connection, headers, proxyRequest.Content?.Headers);
        foreach (var name in s_alwaysStripped)
        {
            headers.Remove(name);
        }
        foreach (var name in decision.RemoveHeaders)
        {
            headers.Remove(name);
        }
        UpstreamHeaderWriter.Write(httpContext, headers, feature);
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copyBody = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        // RFC 9110 §7.6.1, the other direction: what the upstream declares hop-by-hop stays at this hop.
        if (proxyResponse is not null && proxyResponse.Headers.NonValidated.TryGetValues("Connection", out var connection))
        {
            foreach (var value in connection)
            {
                ConnectionOptions.RemoveNominated(value, httpContext.Response.Headers);
            }
        }

        return copyBody;
    }
}
