using Gatehouse.Audit;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Admin.Console;

/// <summary>
/// The console's filters on decisions (query parameters <c>route</c>, <c>workload</c>, <c>subject</c>, <c>outcome</c>,
/// <c>reason</c>): each given one must match; <c>reason</c> matches a reason code by prefix, the others exactly.
/// </summary>
internal sealed record DecisionFilter(string? Route, string? Workload, string? Subject, string? Outcome, string? Reason)
{
    public static DecisionFilter From(IQueryCollection query) => new(
        Value(query, "route"), Value(query, "workload"), Value(query, "subject"), Value(query, "outcome"), Value(query, "reason"));

    public bool Matches(AuditRecord record) =>
        (Route is null || string.Equals(record.Route, Route, StringComparison.Ordinal))
        && (Workload is null || string.Equals(record.Workload, Workload, StringComparison.Ordinal))
        && (Subject is null || string.Equals(record.Subject, Subject, StringComparison.Ordinal))
        && (Outcome is null || string.Equals(record.Decision, Outcome, StringComparison.Ordinal))
        && (Reason is null || record.Reasons.Any(r => r.StartsWith(Reason, StringComparison.Ordinal)));

    private static string? Value(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var value) && value.ToString() is { Length: > 0 } text ? text : null;
}
