using System.Diagnostics;
using Gatehouse.Audit;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Diagnostics;

/// <summary>
/// Tracing: one <see cref="Activity"/> per decision from <see cref="ActivitySource"/> (name
/// <see cref="SourceName"/>), parented on the incoming W3C <c>traceparent</c> (docs/observability.md).
/// </summary>
public static class GatehouseTelemetry
{
    /// <summary>The activity source name; subscribe to it (OpenTelemetry <c>AddSource("Gatehouse")</c>).</summary>
    public const string SourceName = "Gatehouse";

    /// <summary>The name of the per-decision activity.</summary>
    public const string DecisionActivityName = "gatehouse.decision";

    /// <summary>W3C Trace Context header names.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <inheritdoc cref="TraceParentHeader"/>
    public const string TraceStateHeader = "tracestate";

    /// <summary>The source of Gatehouse's activities.</summary>
    public static readonly ActivitySource ActivitySource =
        new(SourceName, typeof(GatehouseTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Starts the decision activity, or returns null when nobody listens. The parent is
    /// <see cref="Activity.Current"/> when there is one (ASP.NET Core already continued the incoming trace);
    /// otherwise the request's <c>traceparent</c>/<c>tracestate</c> headers (ext_authz, where Envoy passes them
    /// in the check request).
    /// </summary>
    public static Activity? StartDecision(AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        Activity? activity;
        if (Activity.Current is null && TryGetRemoteParent(request, out var parent))
        {
            activity = ActivitySource.StartActivity(DecisionActivityName, ActivityKind.Server, parent);
        }
        else
        {
            activity = ActivitySource.StartActivity(DecisionActivityName, ActivityKind.Internal);
        }

        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("http.request.method", request.Method);
            activity.SetTag("server.address", request.Host);
            if (request.Listener is not null)
            {
                activity.SetTag("gatehouse.listener", request.Listener);
            }
        }

        return activity;
    }

    /// <summary>
    /// Tags the activity with the outcome (decision, first reason, route, policy, status) and stops it. A 5xx
    /// marks it as an error; a denial is an outcome, not an error.
    /// </summary>
    public static void CompleteDecision(Activity? activity, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            activity.SetTag("gatehouse.decision", AuditDecisions.From(decision));
            activity.SetTag("gatehouse.reason", decision.Reasons.Count > 0 ? decision.Reasons[0] : null);
            activity.SetTag("gatehouse.route", decision.RouteName);
            activity.SetTag("gatehouse.policy", decision.DecidingPolicy);
            activity.SetTag("http.response.status_code", decision.StatusCode);
            if (decision.Token is { } token)
            {
                activity.SetTag("gatehouse.token.fingerprint", AuditRecord.SafeFingerprint(token.Fingerprint));
            }
        }

        if (decision.StatusCode >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error, decision.Reasons.Count > 0 ? decision.Reasons[0] : null);
        }

        activity.Stop();
    }

    /// <summary>
    /// Parses the request's <c>traceparent</c> (and <c>tracestate</c>) into a remote parent context. False when
    /// absent or malformed (a malformed header starts a new trace, per W3C Trace Context §4.3).
    /// </summary>
    public static bool TryGetRemoteParent(AuthorizationRequest request, out ActivityContext parent)
    {
        ArgumentNullException.ThrowIfNull(request);
        var traceParent = request.GetHeader(TraceParentHeader);
        if (string.IsNullOrEmpty(traceParent))
        {
            parent = default;
            return false;
        }

        return ActivityContext.TryParse(traceParent, request.GetHeader(TraceStateHeader), isRemote: true, out parent);
    }

    /// <summary>The <c>traceparent</c> to send upstream for <paramref name="activity"/>, or null when it is not W3C.</summary>
    public static string? FormatTraceParent(Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;
}
