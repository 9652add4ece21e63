using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Policy;

/// <summary>
/// The policies that apply to one route (its bound policies plus every global one), compiled once per config
/// snapshot. Evaluation follows Istio AuthorizationPolicy: CUSTOM is not handled here (ext_authz providers are
/// called by the host); any matching DENY rule denies; then, if at least one ALLOW policy applies, the request must
/// match one of their rules; with no ALLOW policy the request is allowed (<c>policy.none</c>). AUDIT policies and
/// <c>dry_run</c> policies never change the outcome; they are reported in <see cref="PolicyEvaluation.Recorded"/>.
/// </summary>
public sealed class CompiledPolicySet
{
    private static readonly PolicyEvaluation NoPolicyResult = new()
    {
        Allowed = true,
        Reasons = [ReasonCodes.NoPolicy],
    };

    private static readonly PolicyEvaluation NoAllowMatchResult = new()
    {
        Allowed = false,
        Reasons = [ReasonCodes.PolicyNoAllowMatch],
    };

    private readonly CompiledPolicy[] _deny;
    private readonly CompiledPolicy[] _allow;
    private readonly CompiledPolicy[] _observers; // audit + dry-run (any action)
    private readonly CompiledPolicy[] _all;       // config order, for the trace

    private CompiledPolicySet(CompiledPolicy[] all)
    {
        _all = all;
        _deny = [.. all.Where(p => p.Action == PolicyAction.Deny && !p.DryRun)];
        _allow = [.. all.Where(p => p.Action == PolicyAction.Allow && !p.DryRun)];
        _observers = [.. all.Where(p => p.Action == PolicyAction.Audit || (p.DryRun && p.Action is PolicyAction.Allow or PolicyAction.Deny))];
    }

    /// <summary>An empty set (no policy applies).</summary>
    public static CompiledPolicySet Empty { get; } = new([]);

    /// <summary>True when no ALLOW, DENY, AUDIT or dry-run policy applies (CUSTOM ones are ignored here).</summary>
    public bool IsEmpty => _deny.Length == 0 && _allow.Length == 0 && _observers.Length == 0;

    /// <summary>Names of the compiled policies in evaluation order of the config.</summary>
    public IReadOnlyList<string> PolicyNames => [.. _all.Select(p => p.Name)];

    /// <summary>Conditions that could not be compiled, as <c>policy/ruleN: field: error</c> (also shown in traces).</summary>
    public IReadOnlyList<string> CompileErrors =>
        [.. _all.SelectMany(p => p.Rules.SelectMany(r => r.Conditions.Where(c => c.Error is not null)
            .Select(c => $"{r.Id}: {c.Field}: {c.Error}")))];

    /// <summary>
    /// Compiles <paramref name="policies"/> (a route's policies plus the global ones; duplicates by name are compiled
    /// once). Never throws on odd input: a condition that cannot be compiled matches nothing in ALLOW/AUDIT policies and
    /// everything in DENY policies (fail closed), and is reported in the trace.
    /// </summary>
    public static CompiledPolicySet Compile(IEnumerable<PolicyConfig> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var compiled = new List<CompiledPolicy>();
        var index = 0;
        foreach (var policy in policies)
        {
            if (policy is null)
            {
                continue;
            }

            var name = string.IsNullOrEmpty(policy.Name) ? $"policy{index}" : policy.Name;
            index++;
            if (seen.Add(name))
            {
                // Fail closed: CUSTOM (delegation to an external authorizer) is refused by config validation; a
                // CUSTOM policy that still arrives here is enforced as DENY rather than silently ignored.
                var effective = policy.Action == PolicyAction.Custom ? policy with { Action = PolicyAction.Deny } : policy;
                compiled.Add(CompiledPolicy.Compile(effective, name));
            }
        }

        return compiled.Count == 0 ? Empty : new CompiledPolicySet([.. compiled]);
    }

    /// <summary>
    /// Evaluates the set. With <paramref name="trace"/> false the allow path allocates nothing unless an AUDIT or
    /// dry-run policy has something to record; with true every policy and rule is evaluated and traced.
    /// </summary>
    public PolicyEvaluation Evaluate(in PolicyInput input, bool trace = false)
    {
        if (trace)
        {
            return EvaluateWithTrace(input);
        }

        List<string>? recorded = null;
        foreach (var observer in _observers)
        {
            observer.Record(input, ref recorded);
        }

        foreach (var policy in _deny)
        {
            var rule = policy.FirstMatch(input);
            if (rule is not null)
            {
                return rule.WithRecorded(recorded);
            }
        }

        if (_allow.Length == 0)
        {
            return recorded is null ? NoPolicyResult : new PolicyEvaluation { Allowed = true, Reasons = NoPolicyResult.Reasons, Recorded = recorded };
        }

        foreach (var policy in _allow)
        {
            var rule = policy.FirstMatch(input);
            if (rule is not null)
            {
                return rule.WithRecorded(recorded);
            }
        }

        return NoAllowMatch(input, recorded, trace: null);
    }

    private PolicyEvaluation NoAllowMatch(in PolicyInput input, List<string>? recorded, List<PolicyTraceEntry>? trace)
    {
        var missingScope = FindMissingScope(input);
        if (missingScope is null && recorded is null && trace is null)
        {
            return NoAllowMatchResult;
        }

        return new PolicyEvaluation
        {
            Allowed = false,
            Reasons = missingScope is null
                ? NoAllowMatchResult.Reasons
                : [$"{ReasonCodes.ScopeMissing}:{missingScope}", ReasonCodes.PolicyNoAllowMatch],
            MissingScope = missingScope,
            Recorded = (IReadOnlyList<string>?)recorded ?? [],
            Trace = (IReadOnlyList<PolicyTraceEntry>?)trace ?? [],
        };
    }

    /// <summary>The first enforced ALLOW rule (config order) whose only failed condition is a positive scope condition.</summary>
    private string? FindMissingScope(in PolicyInput input)
    {
        foreach (var policy in _allow)
        {
            foreach (var rule in policy.Rules)
            {
                Condition? failed = null;
                var failures = 0;
                foreach (var condition in rule.Conditions)
                {
                    if (!condition.Evaluate(input, failClosedValue: false))
                    {
                        failed = condition;
                        if (++failures > 1)
                        {
                            break;
                        }
                    }
                }

                if (failures == 1 && failed!.IsScope)
                {
                    return string.Join(' ', failed.Values);
                }
            }
        }

        return null;
    }

    private PolicyEvaluation EvaluateWithTrace(in PolicyInput input)
    {
        var trace = new List<PolicyTraceEntry>();
        List<string>? recorded = null;
        CompiledRule? denyMatch = null;
        CompiledRule? allowMatch = null;
        foreach (var policy in _all)
        {
            var first = policy.Trace(input, trace);
            if (policy.Action == PolicyAction.Custom)
            {
                continue;
            }

            if (policy.Action == PolicyAction.Audit || policy.DryRun)
            {
                policy.Record(input, ref recorded);
            }
            else if (policy.Action == PolicyAction.Deny)
            {
                denyMatch ??= first;
            }
            else if (policy.Action == PolicyAction.Allow)
            {
                allowMatch ??= first;
            }
        }

        if (denyMatch is not null)
        {
            return denyMatch.WithRecorded(recorded, trace);
        }

        if (_allow.Length == 0)
        {
            return new PolicyEvaluation { Allowed = true, Reasons = NoPolicyResult.Reasons, Recorded = (IReadOnlyList<string>?)recorded ?? [], Trace = trace };
        }

        return allowMatch is not null ? allowMatch.WithRecorded(recorded, trace) : NoAllowMatch(input, recorded, trace);
    }
}

/// <summary>One compiled policy.</summary>
internal sealed class CompiledPolicy
{
    private CompiledPolicy(string name, PolicyAction action, bool dryRun, CompiledRule[] rules)
    {
        Name = name;
        Action = action;
        DryRun = dryRun;
        Rules = rules;
        ActionText = action.ToString().ToLowerInvariant();
        DryRunNoMatch = $"{ReasonCodes.PolicyDryRunDeny}:{name}";
    }

    public string Name { get; }

    public PolicyAction Action { get; }

    public string ActionText { get; }

    public bool DryRun { get; }

    public CompiledRule[] Rules { get; }

    /// <summary>What a DENY rule's uncompilable condition evaluates to (fail closed).</summary>
    public bool FailClosedValue => Action == PolicyAction.Deny;

    private string DryRunNoMatch { get; }

    public static CompiledPolicy Compile(PolicyConfig config, string name)
    {
        var rules = new CompiledRule[config.Rules?.Count ?? 0];
        var policy = new CompiledPolicy(name, config.Action, config.DryRun, rules);
        for (var i = 0; i < rules.Length; i++)
        {
            rules[i] = new CompiledRule(policy, i, RuleCompiler.Compile(config.Rules![i]));
        }

        return policy;
    }

    public CompiledRule? FirstMatch(in PolicyInput input)
    {
        foreach (var rule in Rules)
        {
            if (rule.Matches(input))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>Appends what this AUDIT or dry-run policy would have done.</summary>
    public void Record(in PolicyInput input, ref List<string>? recorded)
    {
        var rule = FirstMatch(input);
        if (rule is not null)
        {
            (recorded ??= []).Add(rule.RecordText);
        }
        else if (DryRun && Action == PolicyAction.Allow)
        {
            (recorded ??= []).Add(DryRunNoMatch);
        }
    }

    /// <summary>Evaluates every rule, appending trace entries; returns the first matching rule.</summary>
    public CompiledRule? Trace(in PolicyInput input, List<PolicyTraceEntry> trace)
    {
        if (Action == PolicyAction.Custom)
        {
            trace.Add(new PolicyTraceEntry(Name, ActionText, null, false, "custom: delegated to the ext_authz provider, not evaluated here", DryRun));
            return null;
        }

        var policyIndex = trace.Count;
        trace.Add(null!); // placeholder for the policy summary
        CompiledRule? first = null;
        foreach (var rule in Rules)
        {
            var (matched, detail) = rule.Explain(input);
            trace.Add(new PolicyTraceEntry(Name, ActionText, rule.Index, matched, detail, DryRun));
            if (matched)
            {
                first ??= rule;
            }
        }

        var summary = Rules.Length == 0
            ? "no rules: matches nothing"
            : first is null ? "no rule matched" : $"matched {first.Id}";
        if (DryRun)
        {
            summary += " (dry run: not enforced)";
        }
        else if (Action == PolicyAction.Audit)
        {
            summary += " (audit: recorded only)";
        }

        trace[policyIndex] = new PolicyTraceEntry(Name, ActionText, null, first is not null, summary, DryRun);
        return first;
    }
}

/// <summary>One compiled rule: the AND of its conditions; no conditions matches every request.</summary>
internal sealed class CompiledRule
{
    private readonly PolicyEvaluation _result;
    private readonly bool _failClosedValue;

    public CompiledRule(CompiledPolicy policy, int index, Condition[] conditions)
    {
        Policy = policy;
        Index = index;
        Conditions = conditions;
        Id = $"{policy.Name}/rule{index}";
        _failClosedValue = policy.FailClosedValue;
        var reason = policy.Action == PolicyAction.Deny ? ReasonCodes.PolicyDenyMatched : ReasonCodes.PolicyAllowMatched;
        _result = new PolicyEvaluation
        {
            Allowed = policy.Action != PolicyAction.Deny,
            Reasons = [$"{reason}:{Id}"],
            DecidingPolicy = Id,
        };
        RecordText = policy.Action switch
        {
            PolicyAction.Audit => $"{ReasonCodes.PolicyAuditMatched}:{Id}",
            PolicyAction.Deny => $"{ReasonCodes.PolicyDryRunDeny}:{Id}",
            _ => $"{ReasonCodes.PolicyDryRunAllow}:{Id}",
        };
    }

    public CompiledPolicy Policy { get; }

    public int Index { get; }

    public string Id { get; }

    public Condition[] Conditions { get; }

    public string RecordText { get; }

    public bool Matches(in PolicyInput input)
    {
        foreach (var condition in Conditions)
        {
            if (!condition.Evaluate(input, _failClosedValue))
            {
                return false;
            }
        }

        return true;
    }

    public PolicyEvaluation WithRecorded(List<string>? recorded, List<PolicyTraceEntry>? trace = null) =>
        recorded is null && trace is null
            ? _result
            : new PolicyEvaluation
            {
                Allowed = _result.Allowed,
                Reasons = _result.Reasons,
                DecidingPolicy = _result.DecidingPolicy,
                Recorded = (IReadOnlyList<string>?)recorded ?? [],
                Trace = (IReadOnlyList<PolicyTraceEntry>?)trace ?? [],
            };

    /// <summary>Evaluates every condition and says which failed and why (trace only; allocates).</summary>
    public (bool Matched, string Detail) Explain(in PolicyInput input)
    {
        if (Conditions.Length == 0)
        {
            return (true, "empty rule: matches every request");
        }

        var failures = new List<string>();
        var notes = new List<string>();
        foreach (var condition in Conditions)
        {
            if (condition.Error is not null)
            {
                notes.Add($"{condition.Field}: invalid ({condition.Error}), treated as {(_failClosedValue ? "matching" : "not matching")} (fail closed)");
            }

            if (!condition.Evaluate(input, _failClosedValue))
            {
                failures.Add(condition.Error is not null
                    ? $"{condition.Field}: invalid ({condition.Error})"
                    : $"{condition.Describe()}: got {condition.Observed(input)}");
            }
        }

        var detail = failures.Count == 0
            ? "all conditions matched" + (notes.Count > 0 ? "; " + string.Join("; ", notes) : "")
            : "failed: " + string.Join("; ", failures);
        return (failures.Count == 0, detail);
    }
}
