using System.Globalization;
using Gatehouse.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Cli.Import.Istio;

/// <summary>The output of <see cref="IstioImporter.Import"/>.</summary>
public sealed class IstioImportResult
{
    /// <summary>A Gatehouse config fragment (<c>issuers:</c> and <c>policies:</c>) in YAML, ready to merge into a config.</summary>
    public required string Yaml { get; init; }

    /// <summary>One line per field that could not be carried over, or carried over with a change of meaning.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>The issuers, as config objects (same content as <see cref="Yaml"/>).</summary>
    public required IReadOnlyList<IssuerConfig> Issuers { get; init; }

    /// <summary>The policies, as config objects (same content as <see cref="Yaml"/>).</summary>
    public required IReadOnlyList<PolicyConfig> Policies { get; init; }
}

/// <summary>
/// Converts Istio <c>security.istio.io/v1</c> (and <c>v1beta1</c>) <c>RequestAuthentication</c> and
/// <c>AuthorizationPolicy</c> manifests into Gatehouse config. Semantics are kept where Gatehouse has the same
/// concept; every field that cannot be carried over produces a warning. Conditions Gatehouse does not know are
/// kept as unknown <c>when</c> keys, which the policy engine treats fail-closed (match nothing in ALLOW, everything
/// in DENY) — the same rule Istio applies to unsupported fields.
/// </summary>
public static class IstioImporter
{
    /// <summary>Istio's default root namespace: policies there without a selector apply mesh-wide.</summary>
    public const string RootNamespace = "istio-system";

    /// <summary>Imports every document of every manifest (multi-document YAML and <c>kind: List</c> are accepted).</summary>
    public static IstioImportResult Import(IEnumerable<(string FileName, string Yaml)> manifests)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        var context = new ImportContext();
        foreach (var (fileName, yaml) in manifests)
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(yaml ?? ""));
            }
            catch (YamlException ex)
            {
                context.Warnings.Add($"{fileName}:{ex.Start.Line}:{ex.Start.Column}: not valid YAML, skipped: {ex.Message}");
                continue;
            }

            foreach (var document in stream.Documents)
            {
                if (document.RootNode is YamlMappingNode root)
                {
                    ImportObject(context, fileName, root);
                }
            }
        }

        return new IstioImportResult
        {
            Yaml = IstioYamlWriter.Write(context.Issuers, context.Policies, context.Warnings),
            Warnings = context.Warnings,
            Issuers = context.Issuers,
            Policies = context.Policies,
        };
    }

    private static void ImportObject(ImportContext context, string file, YamlMappingNode root)
    {
        var kind = Scalar(root, "kind");
        var apiVersion = Scalar(root, "apiVersion") ?? "";
        if (kind == "List" && Child(root, "items") is YamlSequenceNode items)
        {
            foreach (var item in items.Children.OfType<YamlMappingNode>())
            {
                ImportObject(context, file, item);
            }

            return;
        }

        var metadata = Child(root, "metadata") as YamlMappingNode;
        var name = (metadata is null ? null : Scalar(metadata, "name")) ?? "unnamed";
        var ns = metadata is null ? null : Scalar(metadata, "namespace");
        var where = new Location(context, $"{file}: {kind}/{(ns is null ? "" : ns + "/")}{name}");

        if (!apiVersion.StartsWith("security.istio.io/", StringComparison.Ordinal))
        {
            where.Warn("", $"apiVersion '{apiVersion}' kind '{kind}' is not an Istio security resource; skipped");
            return;
        }

        if (apiVersion is not ("security.istio.io/v1" or "security.istio.io/v1beta1"))
        {
            where.Warn("apiVersion", $"'{apiVersion}' is not v1 or v1beta1; read as v1");
        }

        var spec = Child(root, "spec") as YamlMappingNode ?? new YamlMappingNode();
        switch (kind)
        {
            case "RequestAuthentication":
                ImportRequestAuthentication(context, where, name, ns, spec);
                break;
            case "AuthorizationPolicy":
                ImportAuthorizationPolicy(context, where, name, ns, metadata, spec);
                break;
            case "PeerAuthentication":
                where.Warn("", "PeerAuthentication is not imported: configure mTLS on the listener (tls.client_certificate: require)");
                break;
            default:
                where.Warn("", $"kind '{kind}' is not imported");
                break;
        }
    }

    private static void ImportRequestAuthentication(ImportContext context, Location where, string name, string? ns, YamlMappingNode spec)
    {
        foreach (var (key, value) in Entries(spec))
        {
            switch (key)
            {
                case "jwtRules":
                    break;
                case "selector" or "targetRef" or "targetRefs":
                    where.Warn($"spec.{key}", "workload selection is not carried over: list the issuer in routes[].authentication.issuers of the routes it protects");
                    break;
                default:
                    where.Warn($"spec.{key}", "unknown field, ignored");
                    break;
            }
        }

        var rules = (Child(spec, "jwtRules") as YamlSequenceNode)?.Children.OfType<YamlMappingNode>().ToList() ?? [];
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var path = $"spec.jwtRules[{i}]";
            var issuerName = context.UniqueIssuerName(rules.Count == 1 ? Qualified(name, ns) : $"{Qualified(name, ns)}-{i}");
            var issuer = new IssuerConfig { Name = issuerName, Issuer = Scalar(rule, "issuer") ?? "" };
            foreach (var (key, value) in Entries(rule))
            {
                switch (key)
                {
                    case "issuer":
                        break;
                    case "jwksUri":
                        issuer = issuer with { JwksUri = ScalarOf(value) };
                        break;
                    case "audiences":
                        issuer = issuer with { Audiences = Strings(value) };
                        break;
                    case "jwks":
                        where.Warn($"{path}.jwks", "inline JWKS is not carried over: save it to a file and set jwks_file");
                        break;
                    case "forwardOriginalToken":
                        where.Warn($"{path}.forwardOriginalToken", "set routes[].authentication.forward_authorization: true on the routes that need it");
                        break;
                    case "outputClaimToHeaders":
                        var headers = (value as YamlSequenceNode)?.Children.OfType<YamlMappingNode>()
                            .Select(h => $"{Scalar(h, "header")}: {Scalar(h, "claim")}") ?? [];
                        where.Warn($"{path}.outputClaimToHeaders", $"set routes[].claim_headers instead ({string.Join(", ", headers)})");
                        break;
                    case "outputPayloadToHeader":
                        where.Warn($"{path}.outputPayloadToHeader", "not supported; use routes[].claim_headers for the claims the upstream needs");
                        break;
                    case "fromHeaders" or "fromParams" or "fromCookies":
                        where.Warn($"{path}.{key}", "token location is configured per route in Gatehouse; not carried over (default: Authorization: Bearer)");
                        break;
                    case "timeout":
                        issuer = issuer with { Keys = issuer.Keys with { FetchTimeout = ParseDuration(ScalarOf(value)) ?? issuer.Keys.FetchTimeout } };
                        break;
                    default:
                        where.Warn($"{path}.{key}", "not supported, ignored");
                        break;
                }
            }

            if (issuer.JwksUri is null)
            {
                issuer = issuer with { Discovery = true }; // Istio uses OpenID discovery when jwksUri is absent
            }

            if (issuer.Audiences.Count == 0)
            {
                where.Warn($"{path}.audiences", "absent: Istio then accepts any audience, Gatehouse requires audiences — fill them in before use");
            }

            if (string.IsNullOrEmpty(issuer.Issuer))
            {
                where.Warn($"{path}.issuer", "missing: the issuer cannot be used");
            }

            context.Issuers.Add(issuer);
        }

        if (rules.Count > 0)
        {
            where.Warn("", "Istio admits requests without a token unless a policy requires request principals; Gatehouse routes require a token by default (authentication.require_token)");
        }
    }

    private static void ImportAuthorizationPolicy(ImportContext context, Location where, string name, string? ns, YamlMappingNode? metadata, YamlMappingNode spec)
    {
        var actionText = Scalar(spec, "action") ?? "ALLOW";
        var action = actionText.ToUpperInvariant() switch
        {
            "ALLOW" => PolicyAction.Allow,
            "DENY" => PolicyAction.Deny,
            "AUDIT" => PolicyAction.Audit,
            "CUSTOM" => PolicyAction.Custom,
            _ => (PolicyAction?)null,
        };
        if (action is null)
        {
            where.Warn("spec.action", $"unknown action '{actionText}': policy skipped");
            return;
        }

        var hasSelector = false;
        foreach (var (key, _) in Entries(spec))
        {
            switch (key)
            {
                case "action" or "rules":
                    break;
                case "selector" or "targetRef" or "targetRefs":
                    hasSelector = true;
                    where.Warn($"spec.{key}", "workload selection is not carried over: bind the policy to the routes of that workload (routes[].policies)");
                    break;
                case "provider":
                    where.Warn("spec.provider", "CUSTOM provider is not carried over: configure Gatehouse as (or behind) the ext_authz provider");
                    break;
                default:
                    where.Warn($"spec.{key}", "unknown field, ignored");
                    break;
            }
        }

        if (action == PolicyAction.Custom)
        {
            // Gatehouse is the external authorizer a CUSTOM policy would call; its rules become Gatehouse policies
            // directly, so the CUSTOM wrapper itself is not imported (a custom action would enforce nothing).
            where.Warn("spec.action", "CUSTOM delegates to an external authorizer (Gatehouse itself, once deployed as the ext_authz provider): policy not imported; write the checks it delegated as allow/deny policies");
            return;
        }

        var dryRun = metadata is not null && Child(metadata, "annotations") is YamlMappingNode annotations
            && string.Equals(Scalar(annotations, "istio.io/dry-run"), "true", StringComparison.OrdinalIgnoreCase);
        var isGlobal = ns == RootNamespace && !hasSelector;

        var rules = new List<PolicyRuleConfig>();
        if (Child(spec, "rules") is YamlSequenceNode ruleNodes)
        {
            var index = 0;
            foreach (var ruleNode in ruleNodes.Children)
            {
                var path = $"spec.rules[{index++}]";
                if (ruleNode is YamlMappingNode rule)
                {
                    rules.AddRange(ConvertRule(where, path, rule, action.Value));
                }
                else
                {
                    rules.Add(new PolicyRuleConfig()); // `- {}` / null: matches every request
                }
            }
        }

        context.Policies.Add(new PolicyConfig
        {
            Name = context.UniquePolicyName(Qualified(name, ns)),
            Action = action.Value,
            DryRun = dryRun,
            Global = isGlobal,
            Rules = rules,
        });
    }

    /// <summary>
    /// An Istio rule holds lists of sources and operations, OR-ed; a Gatehouse rule holds one of each. The rule
    /// becomes the cross product (sources × operations), each with the same <c>when</c>: the same set of requests.
    /// </summary>
    private static List<PolicyRuleConfig> ConvertRule(Location where, string path, YamlMappingNode rule, PolicyAction action)
    {
        var froms = new List<FromConfig?>();
        var tos = new List<ToConfig?>();
        var when = new List<WhenConditionConfig>();
        var extraFrom = new FromBuilder();
        var extraTo = new ToBuilder();
        foreach (var (key, value) in Entries(rule))
        {
            switch (key)
            {
                case "from":
                    var fromIndex = 0;
                    foreach (var item in (value as YamlSequenceNode)?.Children ?? [])
                    {
                        var source = item is YamlMappingNode m ? Child(m, "source") as YamlMappingNode : null;
                        froms.Add(source is null ? null : ConvertSource(where, $"{path}.from[{fromIndex}].source", source));
                        fromIndex++;
                    }

                    break;
                case "to":
                    var toIndex = 0;
                    foreach (var item in (value as YamlSequenceNode)?.Children ?? [])
                    {
                        var operation = item is YamlMappingNode m ? Child(m, "operation") as YamlMappingNode : null;
                        tos.Add(operation is null ? null : ConvertOperation(where, $"{path}.to[{toIndex}].operation", operation));
                        toIndex++;
                    }

                    break;
                case "when":
                    var whenIndex = 0;
                    foreach (var item in (value as YamlSequenceNode)?.Children.OfType<YamlMappingNode>() ?? [])
                    {
                        ConvertCondition(where, $"{path}.when[{whenIndex++}]", item, action, when, extraFrom, extraTo);
                    }

                    break;
                default:
                    where.Warn($"{path}.{key}", "unknown field, ignored");
                    break;
            }
        }

        if (froms.Count == 0)
        {
            froms.Add(null);
        }

        if (tos.Count == 0)
        {
            tos.Add(null);
        }

        if (froms.Count * tos.Count > 1)
        {
            where.Warn(path, $"{froms.Count} sources × {tos.Count} operations became {froms.Count * tos.Count} Gatehouse rules (rule numbers in reasons shift)");
        }

        var result = new List<PolicyRuleConfig>();
        foreach (var source in froms)
        {
            foreach (var to in tos)
            {
                result.Add(new PolicyRuleConfig
                {
                    From = extraFrom.MergeInto(source, where, path),
                    To = extraTo.MergeInto(to, where, path),
                    When = when,
                });
            }
        }

        return result;
    }

    private static FromConfig ConvertSource(Location where, string path, YamlMappingNode source)
    {
        var result = new FromConfig();
        foreach (var (key, value) in Entries(source))
        {
            var values = Strings(value);
            switch (key)
            {
                case "principals": result = result with { Principals = SpiffeIds(values) }; break;
                case "notPrincipals": result = result with { NotPrincipals = SpiffeIds(values) }; break;
                case "requestPrincipals": result = result with { RequestPrincipals = values }; break;
                case "notRequestPrincipals": result = result with { NotRequestPrincipals = values }; break;
                case "namespaces": result = result with { Namespaces = values }; break;
                case "notNamespaces": result = result with { NotNamespaces = values }; break;
                case "ipBlocks": result = result with { IpBlocks = values }; break;
                case "notIpBlocks": result = result with { NotIpBlocks = values }; break;
                case "remoteIpBlocks":
                    result = result with { IpBlocks = [.. result.IpBlocks, .. values] };
                    where.Warn($"{path}.remoteIpBlocks", "imported as ip_blocks: Gatehouse matches the connection's source address (X-Forwarded-For is not trusted)");
                    break;
                case "notRemoteIpBlocks":
                    result = result with { NotIpBlocks = [.. result.NotIpBlocks, .. values] };
                    where.Warn($"{path}.notRemoteIpBlocks", "imported as not_ip_blocks: Gatehouse matches the connection's source address (X-Forwarded-For is not trusted)");
                    break;
                default:
                    where.Warn($"{path}.{key}", "not supported, ignored");
                    break;
            }
        }

        return result;
    }

    private static ToConfig ConvertOperation(Location where, string path, YamlMappingNode operation)
    {
        var to = new ToConfig();
        foreach (var (key, value) in Entries(operation))
        {
            var values = Strings(value);
            switch (key)
            {
                case "hosts": to = to with { Hosts = values }; break;
                case "notHosts": to = to with { NotHosts = values }; break;
                case "ports": to = to with { Ports = values }; break;
                case "notPorts": to = to with { NotPorts = values }; break;
                case "methods": to = to with { Methods = values }; break;
                case "notMethods": to = to with { NotMethods = values }; break;
                case "paths":
                    to = to with { Paths = values };
                    WarnPathTemplates(where, $"{path}.paths", values);
                    break;
                case "notPaths":
                    to = to with { NotPaths = values };
                    WarnPathTemplates(where, $"{path}.notPaths", values);
                    break;
                default:
                    where.Warn($"{path}.{key}", "not supported, ignored");
                    break;
            }
        }

        return to;
    }

    private static void WarnPathTemplates(Location where, string path, IReadOnlyList<string> values)
    {
        foreach (var value in values.Where(v => v.Contains('{', StringComparison.Ordinal)))
        {
            where.Warn(path, $"path template '{value}' ({{*}}, {{**}}) is not supported: the pattern is invalid in Gatehouse and fails closed");
        }
    }

    private static void ConvertCondition(Location where, string path, YamlMappingNode condition, PolicyAction action, List<WhenConditionConfig> when, FromBuilder sources, ToBuilder operations)
    {
        var key = Scalar(condition, "key") ?? "";
        var values = Child(condition, "values") is { } v ? Strings(v) : [];
        var notValues = Child(condition, "notValues") is { } nv ? Strings(nv) : [];

        void AddWhen(string gatehouseKey)
        {
            if (values.Count > 0)
            {
                when.Add(new WhenConditionConfig { Key = gatehouseKey, Values = values });
            }

            if (notValues.Count > 0)
            {
                when.Add(new WhenConditionConfig { Key = gatehouseKey, Values = notValues, Negated = true });
            }
        }

        if (key.StartsWith("request.auth.claims[", StringComparison.Ordinal))
        {
            var claimPath = ParseClaimPath(key);
            if (claimPath is null)
            {
                where.Warn($"{path}.key", $"cannot parse '{key}'; kept as an unknown key (fails closed)");
                AddWhen(key);
            }
            else if (claimPath is "scope" or "scp")
            {
                AddWhen("scopes"); // Istio splits space-delimited scope claims too
            }
            else
            {
                AddWhen("claims." + claimPath);
            }

            return;
        }

        if (key.StartsWith("request.headers[", StringComparison.Ordinal) && key.EndsWith(']'))
        {
            AddWhen("headers." + key["request.headers[".Length..^1].ToLowerInvariant());
            return;
        }

        switch (key)
        {
            case "request.auth.principal":
                sources.Add(where, path, f => f.RequestPrincipals, f => f.NotRequestPrincipals, values, notValues, (f, a, b) => f with { RequestPrincipals = a, NotRequestPrincipals = b });
                return;
            case "request.auth.audiences":
                AddWhen("claims.aud");
                return;
            case "request.auth.presenter":
                AddWhen("claims.azp");
                return;
            case "source.ip":
                sources.Add(where, path, f => f.IpBlocks, f => f.NotIpBlocks, values, notValues, (f, a, b) => f with { IpBlocks = a, NotIpBlocks = b });
                return;
            case "remote.ip":
                where.Warn($"{path}.key", "remote.ip imported as source ip_blocks (X-Forwarded-For is not trusted)");
                sources.Add(where, path, f => f.IpBlocks, f => f.NotIpBlocks, values, notValues, (f, a, b) => f with { IpBlocks = a, NotIpBlocks = b });
                return;
            case "source.namespace":
                sources.Add(where, path, f => f.Namespaces, f => f.NotNamespaces, values, notValues, (f, a, b) => f with { Namespaces = a, NotNamespaces = b });
                return;
            case "source.principal":
                sources.Add(where, path, f => f.Principals, f => f.NotPrincipals, SpiffeIds(values), SpiffeIds(notValues), (f, a, b) => f with { Principals = a, NotPrincipals = b });
                return;
            case "destination.port":
                operations.Add(where, path, t => t.Ports, t => t.NotPorts, values, notValues, (t, a, b) => t with { Ports = a, NotPorts = b });
                return;
        }

        where.Warn($"{path}.key", $"'{key}' has no Gatehouse equivalent; kept as an unknown when key, which {(action == PolicyAction.Deny ? "matches every request in this DENY policy" : "never matches")} (fail closed)");
        AddWhen(key);
    }

    /// <summary><c>request.auth.claims[a][b]</c> → <c>a.b</c>; null when malformed.</summary>
    internal static string? ParseClaimPath(string key)
    {
        var rest = key.AsSpan("request.auth.claims".Length);
        var parts = new List<string>();
        while (!rest.IsEmpty)
        {
            if (rest[0] != '[')
            {
                return null;
            }

            var close = rest.IndexOf(']');
            if (close <= 1)
            {
                return null;
            }

            parts.Add(rest[1..close].ToString());
            rest = rest[(close + 1)..];
        }

        return parts.Count == 0 ? null : string.Join('.', parts);
    }

    /// <summary>Istio writes principals without the scheme (<c>cluster.local/ns/a/sa/b</c>); Gatehouse uses SPIFFE IDs.</summary>
    private static List<string> SpiffeIds(IReadOnlyList<string> values) =>
        [.. values.Select(v => v == "*" || v.StartsWith('*') || v.StartsWith("spiffe://", StringComparison.Ordinal) ? v : "spiffe://" + v)];

    private static string Qualified(string name, string? ns) => ns is null ? name : $"{ns}.{name}";

    private static TimeSpan? ParseDuration(string? text)
    {
        if (text is null || text.Length < 2)
        {
            return null;
        }

        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001) : text.EndsWith('s') ? (text[..^1], 1.0) : (text, 0);
        return unit > 0 && double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? TimeSpan.FromSeconds(value * unit)
            : null;
    }

    private static IEnumerable<(string Key, YamlNode Value)> Entries(YamlMappingNode node) =>
        node.Children.Select(c => (c.Key is YamlScalarNode s ? s.Value ?? "" : "", c.Value));

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static string? Scalar(YamlMappingNode node, string key) => ScalarOf(Child(node, key));

    private static string? ScalarOf(YamlNode? node) => node is YamlScalarNode { Value: { Length: > 0 } value } ? value : null;

    private static List<string> Strings(YamlNode node) => node switch
    {
        YamlSequenceNode sequence => [.. sequence.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "").Where(s => s.Length > 0)],
        YamlScalarNode { Value: { Length: > 0 } value } => [value],
        _ => [],
    };

    private sealed class ImportContext
    {
        private readonly HashSet<string> _issuerNames = new(StringComparer.Ordinal);
        private readonly HashSet<string> _policyNames = new(StringComparer.Ordinal);

        public List<string> Warnings { get; } = [];

        public List<IssuerConfig> Issuers { get; } = [];

        public List<PolicyConfig> Policies { get; } = [];

        public string UniqueIssuerName(string name) => Unique(_issuerNames, name);

        public string UniquePolicyName(string name) => Unique(_policyNames, name);

        private static string Unique(HashSet<string> names, string name)
        {
            var candidate = name;
            for (var i = 2; !names.Add(candidate); i++)
            {
                candidate = $"{name}-{i}";
            }

            return candidate;
        }
    }

    private sealed class Location(ImportContext context, string prefix)
    {
        public void Warn(string field, string message) =>
            context.Warnings.Add(field.Length == 0 ? $"{prefix}: {message}" : $"{prefix}: {field}: {message}");
    }

    /// <summary>Source fields that came from <c>when</c> keys (<c>source.ip</c>, …), merged into every expanded rule.</summary>
    private sealed class FromBuilder
    {
        private readonly List<Func<FromConfig, Location, string, FromConfig>> _edits = [];

        public void Add(Location where, string path, Func<FromConfig, IReadOnlyList<string>> get, Func<FromConfig, IReadOnlyList<string>> getNot, IReadOnlyList<string> values, IReadOnlyList<string> notValues, Func<FromConfig, IReadOnlyList<string>, IReadOnlyList<string>, FromConfig> set) =>
            _edits.Add((f, w, _) => Merge(f, w, path, get, getNot, values, notValues, set));

        public FromConfig? MergeInto(FromConfig? source, Location where, string path)
        {
            if (_edits.Count == 0)
            {
                return source;
            }

            var result = source ?? new FromConfig();
            foreach (var edit in _edits)
            {
                result = edit(result, where, path);
            }

            return result;
        }
    }

    private sealed class ToBuilder
    {
        private readonly List<Func<ToConfig, Location, ToConfig>> _edits = [];

        public void Add(Location where, string path, Func<ToConfig, IReadOnlyList<string>> get, Func<ToConfig, IReadOnlyList<string>> getNot, IReadOnlyList<string> values, IReadOnlyList<string> notValues, Func<ToConfig, IReadOnlyList<string>, IReadOnlyList<string>, ToConfig> set) =>
            _edits.Add((to, w) => Merge(to, w, path, get, getNot, values, notValues, set));

        public ToConfig? MergeInto(ToConfig? to, Location where, string path)
        {
            _ = path;
            if (_edits.Count == 0)
            {
                return to;
            }

            var result = to ?? new ToConfig();
            foreach (var edit in _edits)
            {
                result = edit(result, where);
            }

            return result;
        }
    }

    /// <summary>
    /// Sets a field from a <c>when</c> condition. When the source/operation already constrains the same field, the
    /// AND of two any-of lists cannot be written as one list: the positive values are intersected when both are
    /// plain literals, otherwise the <c>when</c> values win and a warning says so.
    /// </summary>
    private static T Merge<T>(T target, Location where, string path, Func<T, IReadOnlyList<string>> get, Func<T, IReadOnlyList<string>> getNot, IReadOnlyList<string> values, IReadOnlyList<string> notValues, Func<T, IReadOnlyList<string>, IReadOnlyList<string>, T> set)
    {
        var existing = get(target);
        IReadOnlyList<string> positive = values;
        if (existing.Count > 0 && values.Count > 0)
        {
            if (existing.Concat(values).Any(v => v.Contains('*', StringComparison.Ordinal)))
            {
                where.Warn(path, "a when condition and a source/operation field constrain the same attribute with globs; the when values replace the field");
            }
            else
            {
                positive = [.. existing.Intersect(values, StringComparer.Ordinal)];
                if (positive.Count == 0)
                {
                    where.Warn(path, "a when condition and a source/operation field have no value in common: the rule can never match");
                    positive = ["!never-matches!"];
                }
            }
        }
        else if (values.Count == 0)
        {
            positive = existing;
        }

        return set(target, positive, [.. getNot(target), .. notValues]);
    }
}
