using Gatehouse.Configuration;
using Gatehouse.Model;

namespace Gatehouse.Policy;

/// <summary>Turns a <see cref="PolicyRuleConfig"/> into conditions, cheapest first. An empty list is an absent field.</summary>
internal static class RuleCompiler
{
    public static Condition[] Compile(PolicyRuleConfig rule)
    {
        var conditions = new List<Condition>();
        if (rule is null)
        {
            return [];
        }

        if (rule.To is { } to)
        {
            AddString(conditions, "to.methods", "to.not_methods", to.Methods, to.NotMethods, StringComparison.OrdinalIgnoreCase, static i => i.Request.Method);
            AddString(conditions, "to.paths", "to.not_paths", to.Paths, to.NotPaths, StringComparison.Ordinal, static i => i.NormalizedPath);
            AddString(conditions, "to.hosts", "to.not_hosts", to.Hosts, to.NotHosts, StringComparison.OrdinalIgnoreCase, static i => i.Request.Host);
            Add(conditions, to.Ports, to.NotPorts, static (v, n) => new PortCondition(n ? "to.not_ports" : "to.ports", n, v));
        }

        if (rule.From is { } from)
        {
            AddString(conditions, "from.principals", "from.not_principals", from.Principals, from.NotPrincipals, StringComparison.Ordinal, static i => i.Principal.Workload);
            Add(conditions, from.Namespaces, from.NotNamespaces, static (v, n) => new NamespaceCondition(n ? "from.not_namespaces" : "from.namespaces", n, v));
            Add(conditions, from.IpBlocks, from.NotIpBlocks, static (v, n) => new IpCondition(n ? "from.not_ip_blocks" : "from.ip_blocks", n, v));
            Add(conditions, from.RequestPrincipals, from.NotRequestPrincipals, static (v, n) => new RequestPrincipalCondition(n ? "from.not_request_principals" : "from.request_principals", n, v));
        }

        foreach (var when in rule.When ?? [])
        {
            conditions.Add(CompileWhen(when));
        }

        return [.. conditions];
    }

    /// <summary>
    /// <c>when</c> keys: <c>scopes</c>, <c>roles</c>, <c>claims.PATH</c>, <c>headers.NAME</c>, <c>client_id</c>,
    /// <c>subject</c>, <c>issuer</c> (<c>issuer</c> is the issuer name from config), <c>actor</c> (the current actor
    /// of an RFC 8693 delegation chain), <c>actors</c> (any actor of the chain). A <c>not_</c> prefix on the key
    /// is accepted as the negated form too.
    /// </summary>
    private static Condition CompileWhen(WhenConditionConfig when)
    {
        var key = when.Key ?? "";
        var negated = when.Negated;
        if (key.StartsWith("not_", StringComparison.Ordinal))
        {
            key = key[4..];
            negated = true;
        }

        var values = when.Values ?? [];
        var field = $"when.{(negated ? "not_" : "")}{key}";
        switch (key)
        {
            case "scopes":
                return new SetCondition(field, negated, values, scopes: true);
            case "roles":
                return new SetCondition(field, negated, values, scopes: false);
            case "client_id":
                return new StringCondition(field, negated, values, StringComparison.Ordinal, static i => i.Principal.ClientId);
            case "subject":
                return new StringCondition(field, negated, values, StringComparison.Ordinal, static i => i.Principal.Subject);
            case "issuer":
                return new StringCondition(field, negated, values, StringComparison.Ordinal, static i => i.Principal.IssuerName);
            case "actor":
                return new ActorCondition(field, negated, values, anyInChain: false);
            case "actors":
                return new ActorCondition(field, negated, values, anyInChain: true);
        }

        if (key.StartsWith("claims.", StringComparison.Ordinal))
        {
            return new ClaimCondition(field, negated, values, key["claims.".Length..]);
        }

        if (key.StartsWith("headers.", StringComparison.Ordinal) && key.Length > "headers.".Length)
        {
            var header = key["headers.".Length..];
            return new StringCondition(field, negated, values, StringComparison.Ordinal, i => i.Request.GetHeader(header));
        }

        return new InvalidCondition(field, negated, values, $"unknown when key '{key}'");
    }

    private static void AddString(List<Condition> conditions, string field, string notField, IReadOnlyList<string>? values, IReadOnlyList<string>? notValues, StringComparison comparison, Func<PolicyInput, string?> select)
    {
        if (values is { Count: > 0 })
        {
            conditions.Add(new StringCondition(field, false, values, comparison, select));
        }

        if (notValues is { Count: > 0 })
        {
            conditions.Add(new StringCondition(notField, true, notValues, comparison, select));
        }
    }

    private static void Add(List<Condition> conditions, IReadOnlyList<string>? values, IReadOnlyList<string>? notValues, Func<IReadOnlyList<string>, bool, Condition> create)
    {
        if (values is { Count: > 0 })
        {
            conditions.Add(create(values, false));
        }

        if (notValues is { Count: > 0 })
        {
            conditions.Add(create(notValues, true));
        }
    }
}
