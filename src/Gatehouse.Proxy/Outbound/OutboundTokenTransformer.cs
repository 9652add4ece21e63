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
        var feature = httpContext.Features.Get<OutboundTokenFeature>()
            ?? throw new InvalidOperationException("Outbound token transform without a token.");
        var headers = proxyRequest.Headers;
        headers.Remove("authorization");
        headers.Remove("dpop");
        headers.TryAddWithoutValidation("authorization", feature.Authorization);
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken) =>
        ForwardingTransformer.Instance.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
}
