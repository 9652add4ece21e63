using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>Decisions the adapters make themselves, without the engine. All deny (fail closed).</summary>
internal static class LocalDecisions
{
    /// <summary>The check carried no HTTP request attributes (method, path): nothing to authorize, so deny.</summary>
    public static readonly Decision NotHttp = new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = 403,
        Reasons = [ReasonCodes.PathInvalid],
    };

    /// <summary>HTTP mode: the request path lacks the configured Envoy <c>path_prefix</c>.</summary>
    public static readonly Decision PrefixMissing = new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = 404,
        Reasons = [ReasonCodes.RouteNotFound],
    };

    /// <summary>
    /// Over <c>limits.max_concurrent_requests</c>: shed without deciding. A denial (503 meant; the HTTP listener
    /// answers its <c>status_on_unavailable</c>), never a transport error Envoy could turn into an allow.
    /// </summary>
    public static readonly Decision Overloaded = new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = 503,
        Reasons = [ReasonCodes.Overloaded],
    };

    /// <summary>
    /// gRPC: the engine had not decided shortly before Envoy's deadline. Denied in band (503), since Envoy's own
    /// timeout would be an error that <c>failure_mode_allow</c> turns into an allow.
    /// </summary>
    public static readonly Decision DecisionTimeout = new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = 503,
        Reasons = [ReasonCodes.DecisionTimeout],
    };

    /// <summary>
    /// The engine failed. Answered in-band as a denial (503), never as a gRPC error: Envoy turns transport errors
    /// into an allow when <c>failure_mode_allow</c> is set, and Gatehouse fails closed (design.md invariants).
    /// </summary>
    public static readonly Decision InternalError = new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = 503,
        Reasons = [ReasonCodes.InternalError],
    };
}
