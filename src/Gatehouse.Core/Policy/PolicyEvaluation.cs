using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Policy;

/// <summary>
/// The result of evaluating a route's policies. Instances may be shared between requests (results without
/// recorded entries are precomputed at compile time), so treat them as immutable.
/// </summary>
public sealed class PolicyEvaluation
{
    /// <summary>The enforced outcome.</summary>
    public bool Allowed { get; init; }

    /// <summary>
    /// Machine reasons, most decisive first: <c>policy.deny_matched:P/ruleN</c>, <c>policy.allow_matched:P/ruleN</c>,
    /// <c>policy.none</c>, or <c>scope.missing:S</c> (when the closest ALLOW rule failed only on a scope) followed by
    /// <c>policy.no_allow_match</c>.
    /// </summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];

    /// <summary><c>policy/ruleN</c> that decided (deny or allow match); null for <c>policy.none</c> and no-allow-match.</summary>
    public string? DecidingPolicy { get; init; }

    /// <summary>Each policy and rule considered; empty unless evaluated with <c>trace: true</c>.</summary>
    public IReadOnlyList<PolicyTraceEntry> Trace { get; init; } = [];

    /// <summary>
    /// AUDIT and dry-run policies and what they would have done: <c>policy.audit_matched:P/ruleN</c>,
    /// <c>policy.dry_run_deny:P/ruleN</c> (a dry-run DENY matched), <c>policy.dry_run_allow:P/ruleN</c> (a dry-run
    /// ALLOW matched), <c>policy.dry_run_deny:P</c> (a dry-run ALLOW matched no rule: enforced, it would deny unless
    /// another ALLOW policy matched).
    /// </summary>
    public IReadOnlyList<string> Recorded { get; init; } = [];

    /// <summary>The scope whose absence failed the closest ALLOW rule (space-separated when any-of), or null.</summary>
    public string? MissingScope { get; init; }
}
