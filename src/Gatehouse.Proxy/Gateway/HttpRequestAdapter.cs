using System.Net;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Proxy.Gateway;

/// <summary>Turns an ASP.NET Core request into the host-agnostic <see cref="AuthorizationRequest"/>.</summary>
public static class HttpRequestAdapter
{
    public static AuthorizationRequest Create(HttpContext context, ListenerConfig? listener, string? peerIdentity, string? peerThumbprint, string? traceId = null, string? transactionId = null)
    {
        var request = context.Request;
        var (rawPath, query) = SplitTarget(context.Features.Get<IHttpRequestFeature>()?.RawTarget, request);
        var headers = request.Headers;
        return new AuthorizationRequest
        {
            Method = request.Method,
            Host = request.Host.Host.ToLowerInvariant(),
            // The port the listener accepted the connection on (Istio's destination.port), never the Host header's:
            // any client can write "Host: x:8443" and would otherwise satisfy a to.ports rule it never reached.
            Port = context.Connection.LocalPort > 0 ? context.Connection.LocalPort : request.IsHttps ? 443 : 80,
            Scheme = request.Scheme,
            RawPath = rawPath,
            Query = query,
            GetHeader = name =>
            {
                var values = headers[name];
                return values.Count switch
                {
                    0 => null,
                    1 => values[0],
                    _ => string.Join(",", values.ToArray()),
                };
            },
            SourceAddress = Normalize(context.Connection.RemoteIpAddress),
            PeerIdentity = peerIdentity,
            PeerCertificateThumbprint = peerThumbprint,
            Listener = listener?.Name,
            TraceId = traceId ?? System.Diagnostics.Activity.Current?.TraceId.ToHexString(),
            TransactionId = transactionId,
        };
    }

    /// <summary>
    /// Splits the request target as received on the wire (before Kestrel's own decoding), so path normalization
    /// sees exactly what the client sent (encoded slashes, dot segments, fragments).
    /// </summary>
    internal static (string Path, string Query) SplitTarget(string? rawTarget, HttpRequest request)
    {
        if (string.IsNullOrEmpty(rawTarget))
        {
            return (request.PathBase.Add(request.Path).ToUriComponent(), request.QueryString.Value ?? "");
        }

        var target = rawTarget;
        // absolute-form (RFC 9112 §3.2.2): keep the path and query only.
        if (!target.StartsWith('/') && Uri.TryCreate(target, UriKind.Absolute, out var absolute))
        {
            target = absolute.GetComponents(UriComponents.PathAndQuery | UriComponents.Fragment, UriFormat.UriEscaped);
        }

        var question = target.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (target, "") : (target[..question], target[question..]);
    }

    internal static IPAddress? Normalize(IPAddress? address) =>
        address is not null && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
