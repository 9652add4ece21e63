using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// W3C Trace Context (https://www.w3.org/TR/trace-context/ §3) for the upstream request, without creating Activity
/// objects per request: Gatehouse is one hop, so the upstream gets the caller's trace id with a fresh span id as its
/// parent (or a new trace when the caller sent none). When an exporter is configured (<c>telemetry.otlp_endpoint</c>),
/// the request has a recorded Activity and its context is used instead, so exported spans and headers agree.
/// </summary>
internal readonly record struct TraceContext(string TraceId, string TraceParent, string? TraceState)
{
    public static TraceContext For(HttpContext context)
    {
        if (Activity.Current is { } activity)
        {
            var flags = (activity.ActivityTraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00";
            return new TraceContext(
                activity.TraceId.ToHexString(),
                $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-{flags}",
                activity.TraceStateString);
        }

        var headers = context.Request.Headers;
        var inbound = headers.TraceParent.Count == 1 ? headers.TraceParent[0] : null;
        var state = headers.TraceState.Count == 1 ? headers.TraceState[0] : null;
        if (inbound is not null && ActivityContext.TryParse(inbound, state, isRemote: true, out var parent))
        {
            var flags = (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00";
            var traceId = parent.TraceId.ToHexString();
            return new TraceContext(traceId, $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-{flags}", parent.TraceState);
        }

        // No (valid) inbound context: start a trace here so upstream logs and the audit record correlate.
        var fresh = ActivityTraceId.CreateRandom().ToHexString();
        return new TraceContext(fresh, $"00-{fresh}-{ActivitySpanId.CreateRandom().ToHexString()}-00", null);
    }
}
