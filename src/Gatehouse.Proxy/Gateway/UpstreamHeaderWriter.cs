using System.Net.Http.Headers;
using Gatehouse.Http;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// Writes the headers Gatehouse itself authors on the upstream request — claim headers, trace context, XFCC,
/// X-Forwarded-*, the minted Txn-Token — each through the one header-value encoder (<see cref="HeaderValues"/>).
/// </summary>
internal static class UpstreamHeaderWriter
{
    public static void Write(HttpContext httpContext, HttpRequestHeaders headers, ForwardingFeature feature)
    {
        var decision = feature.Decision;
        foreach (var (name, value) in decision.UpstreamHeaders)
        {
            // Claim values are percent-encoded by the decision engine (HeaderValues.EncodeListElement).
            AddChecked(headers, name, value);
        }
        // W3C Trace Context: this hop's context replaces the caller's (with an exporter, SocketsHttpHandler's
        // propagator re-injects the same context from the recorded Activity). tracestate has its own grammar, so an
        // unsafe one is dropped rather than encoded.
        headers.Remove("traceparent");
        headers.Remove("tracestate");
        AddChecked(headers, "traceparent", feature.Trace.TraceParent);
        if (!string.IsNullOrEmpty(feature.Trace.TraceState))
        {
            AddChecked(headers, "tracestate", feature.Trace.TraceState);
        }

        if (feature.ForwardedClientCert is not null)
        {
            // Built by Xfcc.Format, whose values go through HeaderValues.EncodeXfccValue.
            AddChecked(headers, "x-forwarded-client-cert", feature.ForwardedClientCert);
        }

        if (feature.TxnToken is not null)
        {
            // Draft -10, "Txn-Token" HTTP Header: exactly one Txn-Token, minted here (a client-sent one was removed
            // before the decision).
            headers.Remove(feature.TxnTokenHeader!);
            AddChecked(headers, feature.TxnTokenHeader!, feature.TxnToken);
        }

        var connection = httpContext.Connection;
        var remote = HttpRequestAdapter.Normalize(connection.RemoteIpAddress);
        if (remote is not null)
        {
            AddChecked(headers, "x-forwarded-for", remote.ToString());
        }
        AddChecked(headers, "x-forwarded-proto", httpContext.Request.Scheme);
        if (httpContext.Request.Host.HasValue)
        {
            AddChecked(headers, "x-forwarded-host", httpContext.Request.Host.Value);
        }
    }

    /// <summary>
    /// The only way a Gatehouse-authored value enters the upstream request: through the one header-value encoder's
    /// refusal rule (<see cref="HeaderValues.CheckedOrNull"/>). Values are encoded where they are made; a value that
    /// still holds a control or non-ASCII character here is dropped, never written.
    /// </summary>
    private static void AddChecked(HttpRequestHeaders headers, string name, string? value)
    {
        if (HeaderValues.CheckedOrNull(value) is { } safe)
        {
            headers.TryAddWithoutValidation(name, safe);
        }
    }
}
