using Gatehouse.Proxy.Gateway;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy.Outbound;

/// <summary>
/// The gateway's forwarding transform, then the route's outbound token: the app's <c>Authorization</c> (already
/// removed by the compiled route) is replaced by the token <see cref="OutboundTokenStep"/> obtained. A DPoP proof
/// (RFC 9449) made for the app's token cannot fit the new one, so it is removed too.
/// </summary>
internal sealed class OutboundTokenTransformer : HttpTransformer
{
    public static readonly OutboundTokenTransformer Instance = new();

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await ForwardingTransformer.Instance.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        var feature = httpContext.Features.Get<OutboundTokenFeature>();
        var txn = httpContext.Features.Get<OutboundTxnTokenFeature>();
        if (feature is null && txn is null)
        {
            throw new InvalidOperationException("Outbound token transform without a token.");
        }

        var headers = proxyRequest.Headers;
        if (feature is not null)
        {
            headers.Remove("authorization");
            headers.Remove("dpop");
            headers.TryAddWithoutValidation("authorization", feature.Authorization);
        }

        if (txn is not null)
        {
            // §7.4: the replacement stands in for the app's Txn-Token; the upstream never sees the wider one.
            headers.Remove(Gatehouse.Tokens.TxnTokens.TxnTokenProtocol.HeaderName);
            headers.TryAddWithoutValidation(Gatehouse.Tokens.TxnTokens.TxnTokenProtocol.HeaderName, txn.TxnToken);
        }
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken) =>
        ForwardingTransformer.Instance.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
}
