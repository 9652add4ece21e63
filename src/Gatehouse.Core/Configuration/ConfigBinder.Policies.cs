using System.Globalization;

namespace Gatehouse.Configuration;

internal sealed partial class ConfigBinder
{
    private static readonly string[] s_actions = ["allow", "deny", "audit", "custom"];

    internal static string FormatAction(PolicyAction action) => action switch
    {
        PolicyAction.Deny => "deny",
        PolicyAction.Audit => "audit",
        PolicyAction.Custom => "custom",
        _ => "allow",
    };

    private void BindPolicies(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return;
        }

        foreach (var (key, value, p) in MapEntries(mapping, path))
        {
            _policies[key.Value] = BindPolicy(key.Value, value, p);
        }
    }

    private PolicyConfig BindPolicy(string name, YNode node, string path)
    {
        var result = new PolicyConfig { Name = name };
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Policy))
        {
            switch (key)
            {
                case "action":
                    result = result with
                    {
                        Action = OneOf(value, p, s_actions, "policy action") switch
                        {
                            "deny" => PolicyAction.Deny,
                            "audit" => PolicyAction.Audit,
                            "custom" => CustomUnsupported(value, p),
                            _ => PolicyAction.Allow,
                        },
                    };
                    break;
                case "dry_run":
                    result = result with { DryRun = Bool(value, p) ?? false };
                    break;
                case "global":
                    result = result with { Global = Bool(value, p) ?? false };
                    break;
                case "rules":
                    result = result with { Rules = BindRules(value, p) };
                    break;
            }
        }

        return result;
    }

    private List<PolicyRuleConfig> BindRules(YNode node, string path)
    {
        var result = new List<PolicyRuleConfig>();
        if (AsSequence(node, path) is not { } sequence)
        {
            return result;
        }

        for (var i = 0; i < sequence.Items.Count; i++)
        {
            var itemPath = Index(path, i);
            var rule = new PolicyRuleConfig();
            // Note: an empty rule ({} or a bare '-') matches every request, as in Istio.
            if (AsMapping(sequence.Items[i], itemPath) is { } mapping)
            {
                foreach (var (key, value, p) in Entries(mapping, itemPath, ConfigKeys.Rule))
                {
                    rule = key switch
                    {
                        "from" => rule with { From = BindFrom(value, p) },
                        "to" => rule with { To = BindTo(value, p) },
                        _ => rule with { When = BindWhen(value, p) },
                    };
                }
            }

            result.Add(rule);
        }

        return result;
    }

    private FromConfig? BindFrom(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new FromConfig();
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.From))
        {
            var items = StringItems(value, p);
            var list = items.ConvertAll(item => item.Value);
            switch (key)
            {
                case "principals":
                    result = result with { Principals = list };
                    break;
                case "not_principals":
                    result = result with { NotPrincipals = list };
                    break;
                case "namespaces":
                    result = result with { Namespaces = list };
                    break;
                case "not_namespaces":
                    result = result with { NotNamespaces = list };
                    break;
                case "ip_blocks":
                    CheckCidrs(items);
                    result = result with { IpBlocks = list };
                    break;
                case "not_ip_blocks":
                    CheckCidrs(items);
                    result = result with { NotIpBlocks = list };
                    break;
                case "request_principals":
                    result = result with { RequestPrincipals = list };
                    break;
                case "not_request_principals":
                    result = result with { NotRequestPrincipals = list };
                    break;
            }
        }

        return result;
    }

    private void CheckCidrs(List<(string Value, YNode Node, string Path)> items)
    {
        foreach (var (value, itemNode, itemPath) in items)
        {
            if (!ConfigValues.IsCidr(value))
            {
                Error(itemNode, itemPath, $"'{value}' is not an IP address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)");
            }
        }
    }

    private ToConfig? BindTo(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new ToConfig();
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.To))
        {
            var items = StringItems(value, p);
            var list = items.ConvertAll(item => item.Value);
            switch (key)
            {
                case "hosts":
                    result = result with { Hosts = list };
                    break;
                case "not_hosts":
                    result = result with { NotHosts = list };
                    break;
                case "ports":
                    CheckPorts(items);
                    result = result with { Ports = list };
                    break;
                case "not_ports":
                    CheckPorts(items);
                    result = result with { NotPorts = list };
                    break;
                case "methods":
                    result = result with { Methods = list };
                    break;
                case "not_methods":
                    result = result with { NotMethods = list };
                    break;
                case "paths":
                    CheckPaths(items);
                    result = result with { Paths = list };
                    break;
                case "not_paths":
                    CheckPaths(items);
                    result = result with { NotPaths = list };
                    break;
            }
        }

        return result;
    }

    private void CheckPorts(List<(string Value, YNode Node, string Path)> items)
    {
        foreach (var (value, itemNode, itemPath) in items)
        {
            if (!value.All(char.IsAsciiDigit) || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
            {
                Error(itemNode, itemPath, $"'{value}' is not a port number (1-65535)");
            }
        }
    }

    private void CheckPaths(List<(string Value, YNode Node, string Path)> items)
    {
        foreach (var (value, itemNode, itemPath) in items)
        {
            // Istio path syntax: exact, prefix ("/a/*"), suffix ("*.js") or "*"; a '*' anywhere else is literal
            // there, which is almost always a mistake, so it is refused.
            var inner = value.Length > 1 ? value[1..^1] : "";
            if (value != "*" && (inner.Contains('*', StringComparison.Ordinal) || (value.StartsWith('*') && value.EndsWith('*'))))
            {
                Error(itemNode, itemPath, $"'{value}' has '*' in an unsupported place; use an exact path, a prefix '/a/*', a suffix '*.ext' or '*'");
            }
            else if (!value.StartsWith('/') && !value.StartsWith('*'))
            {
                Error(itemNode, itemPath, $"'{value}' must start with '/' (or '*' for a suffix match)");
            }
        }
    }

    private List<WhenConditionConfig> BindWhen(YNode node, string path)
    {
        var result = new List<WhenConditionConfig>();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in MapEntries(mapping, path))
        {
            var negated = key.Value.StartsWith("not_", StringComparison.Ordinal);
            var condition = negated ? key.Value["not_".Length..] : key.Value;
            var valid = condition is "scopes" or "roles" or "client_id" or "subject" or "issuer" or "actor" or "actors"
                || (condition.StartsWith("claims.", StringComparison.Ordinal)
                    && condition["claims.".Length..].Split('.').All(segment => segment.Length > 0))
                || (condition.StartsWith("headers.", StringComparison.Ordinal)
                    && ConfigValues.IsHeaderName(condition["headers.".Length..]));
            if (!valid)
            {
                var suggestion = ConfigKeys.Closest(key.Value, ConfigKeys.When);
                Error(key, p, $"unknown condition '{key.Value}'; expected scopes, roles, claims.<path>, headers.<name>, client_id, subject, issuer, actor, actors or their not_ forms"
                    + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"));
                continue;
            }

            var values = StringList(value, p);
            if (value is YSequence { Items.Count: 0 } or YScalar { IsNull: true })
            {
                Error(value, p, "a condition needs at least one value");
            }

            result.Add(new WhenConditionConfig { Key = condition, Negated = negated, Values = values });
        }

        return result;
    }

    // Istio's CUSTOM delegates to an external authorizer; Gatehouse is that authorizer and calls none, so a CUSTOM
    // policy would silently enforce nothing. Refused at load time (fail closed) rather than ignored.
    private PolicyAction CustomUnsupported(YNode node, string path)
    {
        Error(node, path, "action 'custom' delegates to an external authorizer, which Gatehouse does not call; use allow or deny (Gatehouse itself is the ext_authz provider of Envoy and Istio)");
        return PolicyAction.Deny;
    }
}
