using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Gatehouse.Configuration;
using YamlDotNet.RepresentationModel;
using static Gatehouse.Cli.Import.Istio.IstioImporter;

namespace Gatehouse.Cli.Import.Istio;

/// <summary>
/// Converts one Istio rule into Gatehouse rules that never match more (ALLOW) or less (DENY, AUDIT) than it.
/// </summary>
/// <remarks>
/// An Istio rule is OR over its sources × OR over its operations, AND its conditions; inside a source or an operation
/// every field is AND-ed, the values of one field OR-ed (<c>not…</c> fields: none of them). A Gatehouse rule has the
/// same shape with one source and one operation, so the rule becomes one Gatehouse rule per source × operation.
/// Each Istio field is then translated value by value: exactly where Gatehouse matches the same attribute the same
/// way, otherwise to the nearest set on the safe side — a subset when the policy allows, a superset when it denies
/// or audits (for a <c>not…</c> field the other way round, since it excludes what it lists).
/// </remarks>
internal sealed class IstioRuleConverter(ImportContext context, Location where, string path, string? policyNamespace, bool narrow, List<string> notes)
{
    private const string Spiffe = "spiffe://";

    /// <summary>The Gatehouse rules for <paramref name="rule"/>; none when no Gatehouse rule can match only what it matches.</summary>
    public List<PolicyRuleConfig> Convert(YamlMappingNode rule)
    {
        var sources = new List<(string Path, YamlMappingNode? Node)>();
        var operations = new List<(string Path, YamlMappingNode? Node)>();
        var conditions = new List<Constraint>();
        foreach (var (key, value) in Entries(rule))
        {
            switch (key)
            {
                case "from":
                    var fromIndex = 0;
                    foreach (var item in (value as YamlSequenceNode)?.Children ?? [])
                    {
                        var itemPath = $"{path}.from[{fromIndex++}].source";
                        sources.Add((itemPath, item is YamlMappingNode m ? Child(m, "source") as YamlMappingNode : null));
                    }

                    break;
                case "to":
                    var toIndex = 0;
                    foreach (var item in (value as YamlSequenceNode)?.Children ?? [])
                    {
                        var itemPath = $"{path}.to[{toIndex++}].operation";
                        operations.Add((itemPath, item is YamlMappingNode m ? Child(m, "operation") as YamlMappingNode : null));
                    }

                    break;
                case "when":
                    var whenIndex = 0;
                    foreach (var item in (value as YamlSequenceNode)?.Children ?? [])
                    {
                        conditions.Add(ParseCondition($"{path}.when[{whenIndex++}]", item as YamlMappingNode));
                    }

                    break;
                default:
                    conditions.Add(new Constraint(Attr.Unsupported, $"{path}.{key}", "", false, ["(unknown rule field)"]));
                    break;
            }
        }

        if (sources.Count == 0)
        {
            sources.Add((path, null));
        }

        if (operations.Count == 0)
        {
            operations.Add((path, null));
        }

        var result = new List<PolicyRuleConfig>();
        foreach (var source in sources)
        {
            foreach (var operation in operations)
            {
                var constraints = new List<Constraint>();
                constraints.AddRange(ParseFields(source.Path, source.Node, isSource: true));
                constraints.AddRange(ParseFields(operation.Path, operation.Node, isSource: false));
                constraints.AddRange(conditions);
                if (Build(constraints) is { } converted)
                {
                    result.Add(converted);
                }
            }
        }

        if (sources.Count * operations.Count > 1)
        {
            where.Warn(path, $"{sources.Count} sources × {operations.Count} operations became {result.Count} Gatehouse rules (rule numbers in reasons shift)");
        }

        return result;
    }

    private static List<Constraint> ParseFields(string path, YamlMappingNode? node, bool isSource)
    {
        var result = new List<Constraint>();
        if (node is null)
        {
            return result;
        }

        foreach (var (key, value) in Entries(node))
        {
            var values = Strings(value);
            var negated = key.StartsWith("not", StringComparison.Ordinal) && key.Length > 3 && char.IsUpper(key[3]);
            var field = negated ? char.ToLowerInvariant(key[3]) + key[4..] : key;
            Attr? attr = (isSource, field) switch
            {
                (true, "principals") => Attr.Principal,
                (true, "serviceAccounts") => Attr.ServiceAccount,
                (true, "namespaces") => Attr.Namespace,
                (true, "ipBlocks") => Attr.SourceIp,
                (true, "remoteIpBlocks") => Attr.RemoteIp,
                (true, "requestPrincipals") => Attr.RequestPrincipal,
                (false, "hosts") => Attr.Host,
                (false, "ports") => Attr.Port,
                (false, "methods") => Attr.Method,
                (false, "paths") => Attr.Path,
                _ => null,
            };
            if (values.Count == 0)
            {
                continue; // an empty list is an absent field in Istio as in Gatehouse
            }

            result.Add(new Constraint(attr ?? Attr.Unsupported, $"{path}.{key}", attr is null ? key : "", negated, values));
        }

        return result;
    }

    private static Constraint ParseCondition(string path, YamlMappingNode? condition)
    {
        var key = condition is null ? "" : Scalar(condition, "key") ?? "";
        var values = condition is not null && Child(condition, "values") is { } v ? Strings(v) : [];
        var notValues = condition is not null && Child(condition, "notValues") is { } nv ? Strings(nv) : [];
        if (values.Count > 0 == notValues.Count > 0)
        {
            // Istio requires exactly one of values / notValues (and refuses the policy otherwise).
            return new Constraint(Attr.Unsupported, $"{path}", key, false, ["(values and notValues)"]);
        }

        var negated = notValues.Count > 0;
        var list = negated ? notValues : values;
        if (key.StartsWith("request.auth.claims[", StringComparison.Ordinal))
        {
            return ParseClaimPath(key) is { } claim
                ? new Constraint(Attr.Claim, path, string.Join('\n', claim), negated, list)
                : new Constraint(Attr.Unsupported, path, key, negated, list);
        }

        if (key.StartsWith("request.headers[", StringComparison.Ordinal) && key.EndsWith(']'))
        {
            return new Constraint(Attr.Header, path, key["request.headers[".Length..^1], negated, list);
        }

        var attr = key switch
        {
            "request.auth.principal" => Attr.RequestPrincipal,
            "request.auth.audiences" => Attr.Claim,
            "request.auth.presenter" => Attr.Claim,
            "source.ip" => Attr.SourceIp,
            "remote.ip" => Attr.RemoteIp,
            "source.namespace" => Attr.Namespace,
            "source.principal" => Attr.Principal,
            "source.serviceAccount" => Attr.ServiceAccount,
            "destination.port" => Attr.Port,
            _ => Attr.Unsupported,
        };
        var detail = key switch
        {
            "request.auth.audiences" => "aud",
            "request.auth.presenter" => "azp",
            _ => key,
        };
        return new Constraint(attr, path, detail, negated, list);
    }

    /// <summary>One Gatehouse rule from AND-ed constraints, or null when it cannot match without growing.</summary>
    private PolicyRuleConfig? Build(List<Constraint> constraints)
    {
        var fields = new Dictionary<(string Field, bool Negated), List<string>>();
        var order = new List<(string Field, bool Negated)>();
        foreach (var constraint in constraints)
        {
            // Positive ALLOW values and DENY exclusions need a subset; the other two a superset.
            var under = constraint.Negated != narrow;
            var translated = Translate(constraint, under);
            var outcome = (constraint.Negated, under, translated.Kind) switch
            {
                (false, _, SetKind.Nothing) => Outcome.Never,
                (false, false, SetKind.Everything) => Outcome.Drop,
                (true, true, SetKind.Nothing) => Outcome.Drop,
                (true, false, SetKind.Everything) => Outcome.Never,
                (true, false, SetKind.Nothing) => Outcome.Drop,
                _ => Outcome.Keep,
            };

            if (!translated.Exact)
            {
                Report(constraint, outcome, translated);
            }

            if (outcome == Outcome.Never)
            {
                return null;
            }

            if (outcome == Outcome.Drop)
            {
                continue;
            }

            foreach (var (extraField, extraNegated, extraValues) in translated.Extra)
            {
                var extraKey = (extraField, extraNegated);
                if (fields.TryGetValue(extraKey, out var present))
                {
                    present.AddRange(extraValues.Where(v => !present.Contains(v, StringComparer.Ordinal)));
                }
                else
                {
                    fields[extraKey] = [.. extraValues];
                    order.Add(extraKey);
                }
            }

            var key = (translated.Field, constraint.Negated);
            if (!fields.TryGetValue(key, out var existing))
            {
                fields[key] = [.. translated.Values.Distinct(StringComparer.Ordinal)];
                order.Add(key);
            }
            else if (constraint.Negated)
            {
                // none of A and none of B = none of A ∪ B (also for list-valued claims).
                existing.AddRange(translated.Values.Where(v => !existing.Contains(v, StringComparer.Ordinal)));
            }
            else if (narrow)
            {
                // any of A and any of B: a Gatehouse field holds one list, so keep what lies in both (a subset).
                var both = Intersect(translated.Field, existing, translated.Values);
                if (both.Count == 0)
                {
                    Warn(constraint, "constrains an attribute another field of this rule constrains too, with no value in common: this Gatehouse rule is left out (it could match nothing)");
                    return null;
                }

                existing.Clear();
                existing.AddRange(both);
            }
            else
            {
                Warn(constraint, "constrains an attribute another field of this rule constrains too; only the first is kept, so the rule matches more (fail closed in a DENY/AUDIT policy)");
            }
        }

        var src = new FromConfig();
        var dst = new ToConfig();
        var when = new List<WhenConditionConfig>();
        foreach (var key in order)
        {
            IReadOnlyList<string> values = fields[key];
            var n = key.Negated;
            switch (key.Field)
            {
                case "from.principals": src = n ? src with { NotPrincipals = values } : src with { Principals = values }; break;
                case "from.namespaces": src = n ? src with { NotNamespaces = values } : src with { Namespaces = values }; break;
                case "from.ip_blocks": src = n ? src with { NotIpBlocks = values } : src with { IpBlocks = values }; break;
                case "from.request_principals": src = n ? src with { NotRequestPrincipals = values } : src with { RequestPrincipals = values }; break;
                case "to.hosts": dst = n ? dst with { NotHosts = values } : dst with { Hosts = values }; break;
                case "to.methods": dst = n ? dst with { NotMethods = values } : dst with { Methods = values }; break;
                case "to.paths": dst = n ? dst with { NotPaths = values } : dst with { Paths = values }; break;
                default: when.Add(new WhenConditionConfig { Key = key.Field["when.".Length..], Negated = n, Values = values }); break;
            }
        }

        var hasFrom = order.Any(k => k.Field.StartsWith("from.", StringComparison.Ordinal));
        var hasTo = order.Any(k => k.Field.StartsWith("to.", StringComparison.Ordinal));
        return new PolicyRuleConfig { From = hasFrom ? src : null, To = hasTo ? dst : null, When = when };
    }

    private void Report(Constraint constraint, Outcome outcome, Translation translated)
    {
        var what = outcome switch
        {
            Outcome.Never => narrow
                ? "this Gatehouse rule is left out, so it matches nothing (an ALLOW rule fails closed)"
                : "the rule can never match and is left out",
            Outcome.Drop => narrow
                ? "dropped (it excludes nothing Gatehouse could match)"
                : "dropped, so this rule matches more requests (a DENY/AUDIT rule fails closed)",
            _ => $"carried over as {(constraint.Negated ? "not " : "")}{translated.Field} [{string.Join(", ", translated.Values)}]"
                + (translated.Extra.Count > 0 ? " with " + string.Join(", ", translated.Extra.Select(e => $"{(e.Negated ? "not " : "")}{e.Field} [{string.Join(", ", e.Values)}]")) : "")
                + $", which matches {(narrow ? "fewer" : "more")} requests (fail closed)",
        };
        Warn(constraint, $"{translated.Reason}; {what}");
    }

    private void Warn(Constraint constraint, string message)
    {
        where.Warn(constraint.Path, message);
        notes.Add($"{constraint.Path}: {message}");
    }

    // ---- value translation -------------------------------------------------------------------------------------

    private Translation Translate(Constraint c, bool under)
    {
        switch (c.Attr)
        {
            case Attr.Principal:
                return PerValue(c, under, "from.principals", PrincipalValue);
            case Attr.ServiceAccount:
                return PerValue(c, under, "from.principals", ServiceAccountValue);
            case Attr.Namespace:
                return PerValue(c, under, "from.namespaces", v => GlobValue(v, "namespace"));
            case Attr.SourceIp:
                return PerValue(c, under, "from.ip_blocks", v => IsCidr(v) ? Exact(v) : Inexact($"'{v}' is not an IP address or CIDR block", [], null));
            case Attr.RemoteIp:
                return Inexact(under, "remote IP blocks (X-Forwarded-For / PROXY protocol client address) have no Gatehouse equivalent: Gatehouse matches the connection's source address");
            case Attr.Port:
                return Inexact(under, "ports: Gatehouse's port comes from the request's Host header, not the connection, so it is not the port Istio matches");
            case Attr.RequestPrincipal:
                return PerValue(c, under, "from.request_principals", Exact);
            case Attr.Host:
                return PerValue(c, under, "to.hosts", HostValue);
            case Attr.Method:
                return PerValue(c, under, "to.methods", v => GlobValue(v, "method"));
            case Attr.Path:
                return PerValue(c, under, "to.paths", PathValue);
            case Attr.Header:
                return IsToken(c.Detail)
                    ? PerValue(c, under, "when.headers." + c.Detail.ToLowerInvariant(), v => GlobValue(v, "header value"))
                    : Inexact(under, $"'{c.Detail}' is not a header name");
            case Attr.Claim:
                return Claim(c, under);
            default:
                return Inexact(under, c.Detail.Length > 0 ? $"'{c.Detail}' has no Gatehouse equivalent" : "not supported");
        }
    }

    private Translation Claim(Constraint c, bool under)
    {
        var segments = c.Detail.Split('\n');
        if (segments.Any(s => s.Length == 0 || s.Contains('.', StringComparison.Ordinal)))
        {
            // Gatehouse reads claims.a.b as the nested claim b of a: a claim name with a dot cannot be written.
            return Inexact(under, $"claim name '{string.Join("][", segments)}' contains a '.'");
        }

        var claimPath = string.Join('.', segments);
        if (!context.SpaceDelimitedClaims.Contains(claimPath))
        {
            return PerValue(c, under, "when.claims." + claimPath, v => GlobValue(v, "claim value"));
        }

        // Istio matches each space-separated word of this claim, Gatehouse's claims.X the whole string (or each item of
        // a list): for words, claims.X is a subset. Gatehouse's scopes set holds the words of scope, scp and (Auth0
        // profile) permissions: a superset of scope's words, and exactly them when neither scp nor permissions is present.
        var words = c.Values.Where(v => !v.Contains(' ', StringComparison.Ordinal)).ToList();
        var reason = $"'{claimPath}' is matched word by word in Istio (space-delimited claim)";
        if (claimPath == "scope" && !(under && c.Negated))
        {
            IReadOnlyList<(string, bool, IReadOnlyList<string>)> extra = under
                ? [("when.claims.scp", true, ["*"]), ("when.claims.permissions", true, ["*"])]
                : [];
            return new Translation("when.scopes", words.Count == 0 ? SetKind.Nothing : SetKind.Values, words, false, reason) { Extra = extra };
        }

        if (under)
        {
            var plain = words.Where(v => !v.Contains('*', StringComparison.Ordinal)).ToList();
            return new Translation("when.claims." + claimPath, plain.Count == 0 ? SetKind.Nothing : SetKind.Values, plain, false, reason + "; Gatehouse compares the whole claim");
        }

        return Inexact(false, reason + "; Gatehouse has no set of its words");
    }

    /// <summary>Translates each value and joins the results: the union of the subsets, or of the supersets.</summary>
    private static Translation PerValue(Constraint c, bool under, string field, Func<string, ValueTranslation> translate)
    {
        var values = new List<string>();
        var exact = true;
        var everything = false;
        var reasons = new List<string>();
        foreach (var value in c.Values)
        {
            var t = translate(value);
            exact &= t.Exact;
            if (!t.Exact && t.Reason is not null)
            {
                reasons.Add(t.Reason);
            }

            var chosen = under ? t.Under : t.Over;
            if (chosen is null)
            {
                everything = true;
            }
            else
            {
                values.AddRange(chosen);
            }
        }

        var kind = everything ? SetKind.Everything : values.Count == 0 ? SetKind.Nothing : SetKind.Values;
        return new Translation(field, kind, values, exact, string.Join("; ", reasons));
    }

    private static Translation Inexact(bool under, string reason) =>
        new("", under ? SetKind.Nothing : SetKind.Everything, [], false, reason);

    private static ValueTranslation Exact(string value) => new([value], [value], true, null);

    private static ValueTranslation Inexact(string reason, IReadOnlyList<string> under, IReadOnlyList<string>? over) =>
        new(under, over, false, reason);

    /// <summary>
    /// Istio principals are SPIFFE IDs without the scheme. istiod rewrites a principal written with the trust domain
    /// <c>cluster.local</c> (or the mesh's own) to the mesh's trust domain and each alias (pkg/config/security/trustdomain).
    /// </summary>
    private ValueTranslation PrincipalValue(string value)
    {
        var trustDomains = new[] { context.Options.TrustDomain }.Concat(context.Options.TrustDomainAliases).ToList();
        var parts = value.Split('/');
        IEnumerable<string> expanded = [value];
        if (parts.Length == 5 && parts[0] != "*" && (parts[0] == "cluster.local" || trustDomains.Contains(parts[0], StringComparer.Ordinal)))
        {
            expanded = trustDomains.Select(td => td + "/" + string.Join('/', parts[1..])).Distinct(StringComparer.Ordinal);
        }

        var result = new List<string>();
        foreach (var principal in expanded)
        {
            var spiffe = principal == "*" || principal.StartsWith('*') ? principal : Spiffe + principal;
            var literal = spiffe.Trim('*');
            if (literal.Contains('*', StringComparison.Ordinal) || principal.StartsWith(Spiffe, StringComparison.Ordinal))
            {
                // A '*' inside, or a scheme written twice: Istio compares literally and no SPIFFE ID can match.
                return Inexact($"principal '{value}' can never match a SPIFFE ID", [], []);
            }

            result.Add(spiffe);
        }

        return new ValueTranslation(result, result, true, null);
    }

    /// <summary>
    /// Istio: <c>NS/SA</c> or <c>SA</c> (the policy's namespace), matched in any trust domain. The subset names the
    /// configured trust domain (and aliases); the superset is a suffix match, any trust domain.
    /// </summary>
    private ValueTranslation ServiceAccountValue(string value)
    {
        if (value.Contains('*', StringComparison.Ordinal))
        {
            return Inexact($"service account '{value}' has a '*' (Istio refuses wildcards here)", [], null);
        }

        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var ns = slash < 0 ? policyNamespace : value[..slash];
        var sa = slash < 0 ? value : value[(slash + 1)..];
        if (ns is null || ns.Length == 0 || sa.Length == 0 || sa.Contains('/', StringComparison.Ordinal))
        {
            return Inexact($"service account '{value}' names no namespace and the policy has none", [], ["*/sa/" + sa]);
        }

        var trustDomains = new[] { context.Options.TrustDomain }.Concat(context.Options.TrustDomainAliases).Distinct(StringComparer.Ordinal);
        var under = trustDomains.Select(td => $"{Spiffe}{td}/ns/{ns}/sa/{sa}").ToList();
        var over = new[] { $"*/ns/{ns}/sa/{sa}" };
        var reason = $"service account '{value}' matches in every trust domain in Istio";
        return narrow
            ? new ValueTranslation(under, over, true, null) // the trust domain is given (--trust-domain): exact for this mesh
            : new ValueTranslation(under, over, false, reason);
    }

    /// <summary>Istio string match: exact, <c>x*</c>, <c>*x</c>, <c>*</c>; a '*' elsewhere is literal there (or a regex for namespaces).</summary>
    private static ValueTranslation GlobValue(string value, string what)
    {
        if (IsGatehouseGlob(value))
        {
            return Exact(value);
        }

        var star = value.IndexOf('*', StringComparison.Ordinal);
        return Inexact($"{what} '{value}' has a '*' Gatehouse cannot express", [], [star <= 0 ? "*" : value[..star] + "*"]);
    }

    private static ValueTranslation HostValue(string value)
    {
        if (!IsGatehouseGlob(value))
        {
            return GlobValue(value, "host");
        }

        // Gatehouse compares the host without port and trailing dot (RFC 9110 §4.2.3 normalization); Istio the raw
        // authority. A value with a port can never match a Gatehouse host: its superset is the host without the port.
        var bracket = value.LastIndexOf(']');
        var colon = value.LastIndexOf(':');
        var host = colon > bracket && (bracket >= 0 || value.IndexOf(':', StringComparison.Ordinal) == colon) ? value[..colon] : value;
        host = host.Length > 1 && host.EndsWith('.') ? host[..^1] : host;
        if (host == value)
        {
            return Exact(value);
        }

        return host.Length == 0 || !IsGatehouseGlob(host)
            ? Inexact($"host '{value}' names a port", [], null)
            : Inexact($"host '{value}' names a port or a trailing dot; Gatehouse compares hosts without them", [], [host]);
    }

    private static ValueTranslation PathValue(string value)
    {
        var brace = value.IndexOfAny(['{', '}']);
        if (brace >= 0)
        {
            // Envoy URI templates ({*} one segment, {**} the rest): the prefix before the first operator covers them.
            var prefix = value[..brace];
            return Inexact($"path template '{value}' ({{*}}, {{**}}) has no Gatehouse equivalent", [], [prefix.StartsWith('/') ? prefix + "*" : "*"]);
        }

        if (value == "*" || ((value.StartsWith('/') || value.StartsWith('*')) && IsGatehouseGlob(value)))
        {
            return Exact(value);
        }

        if (!value.StartsWith('/') && !value.StartsWith('*'))
        {
            return Inexact($"path '{value}' does not start with '/' and matches no request", [], []);
        }

        return GlobValue(value, "path");
    }

    private static bool IsGatehouseGlob(string value)
    {
        if (value == "*")
        {
            return true;
        }

        var inner = value.Length > 2 ? value[1..^1] : "";
        return !inner.Contains('*', StringComparison.Ordinal) && !(value.Length > 1 && value.StartsWith('*') && value.EndsWith('*'));
    }

    // ---- intersection (AND of two any-of lists on one attribute) --------------------------------------------------

    private static List<string> Intersect(string field, IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var result = new List<string>();
        foreach (var x in a)
        {
            foreach (var y in b)
            {
                var both = field switch
                {
                    "from.ip_blocks" => IntersectCidr(x, y),
                    "from.request_principals" => x == y ? x : null, // iss/sub split: only identical values are safe
                    _ => IntersectGlob(x, y, field is "to.hosts" or "to.methods" ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal),
                };
                if (both is not null && !result.Contains(both, StringComparer.Ordinal))
                {
                    result.Add(both);
                }
            }
        }

        return result;
    }

    /// <summary>A pattern matching only what both match, or null (prefix ∧ suffix cannot be written: left out, a subset).</summary>
    internal static string? IntersectGlob(string a, string b, StringComparison comparison)
    {
        static (char Kind, string Text) Classify(string p) =>
            p == "*" ? ('a', "") : p.EndsWith('*') ? ('p', p[..^1]) : p.StartsWith('*') ? ('s', p[1..]) : ('e', p);

        static bool Matches((char Kind, string Text) p, string value, StringComparison comparison) => p.Kind switch
        {
            'a' => value.Length > 0,
            'p' => value.StartsWith(p.Text, comparison),
            's' => value.EndsWith(p.Text, comparison),
            _ => string.Equals(value, p.Text, comparison),
        };

        var (x, y) = (Classify(a), Classify(b));
        return (x.Kind, y.Kind) switch
        {
            ('a', _) => b,
            (_, 'a') => a,
            ('e', _) => Matches(y, x.Text, comparison) ? a : null,
            (_, 'e') => Matches(x, y.Text, comparison) ? b : null,
            ('p', 'p') => x.Text.StartsWith(y.Text, comparison) ? a : y.Text.StartsWith(x.Text, comparison) ? b : null,
            ('s', 's') => x.Text.EndsWith(y.Text, comparison) ? a : y.Text.EndsWith(x.Text, comparison) ? b : null,
            _ => null,
        };
    }

    /// <summary>Two CIDR blocks are nested or disjoint: the inner one, or null.</summary>
    internal static string? IntersectCidr(string a, string b)
    {
        if (!TryParseCidr(a, out var x) || !TryParseCidr(b, out var y) || x.Bytes.Length != y.Bytes.Length)
        {
            return null;
        }

        var (outer, inner, innerText) = x.Prefix <= y.Prefix ? (x, y, b) : (y, x, a);
        for (var bit = 0; bit < outer.Prefix; bit++)
        {
            var mask = (byte)(0x80 >> (bit % 8));
            if ((outer.Bytes[bit / 8] & mask) != (inner.Bytes[bit / 8] & mask))
            {
                return null;
            }
        }

        return innerText;
    }

    private static bool IsCidr(string value) => TryParseCidr(value, out _);

    /// <summary>Istio's forms: an address or address/prefix; IPv4 in four decimal parts (as Gatehouse requires).</summary>
    private static bool TryParseCidr(string text, out (byte[] Bytes, int Prefix) block)
    {
        block = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%', StringComparison.Ordinal)
            || (address.AddressFamily == AddressFamily.InterNetwork && addressText.Split('.').Length != 4))
        {
            return false;
        }

        var bytes = address.GetAddressBytes();
        var prefix = bytes.Length * 8;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bytes.Length * 8))
        {
            return false;
        }

        block = (bytes, prefix);
        return true;
    }

    /// <summary>RFC 9110 §5.1: a field name is a token.</summary>
    private static bool IsToken(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));

    private enum Attr
    {
        Principal,
        ServiceAccount,
        Namespace,
        SourceIp,
        RemoteIp,
        RequestPrincipal,
        Host,
        Port,
        Method,
        Path,
        Claim,
        Header,
        Unsupported,
    }

    private enum SetKind
    {
        Values,
        Nothing,
        Everything,
    }

    private enum Outcome
    {
        Keep,
        Drop,
        Never,
    }

    /// <summary>One Istio field or condition: <paramref name="Values"/> any-of, or none-of when negated.</summary>
    private sealed record Constraint(Attr Attr, string Path, string Detail, bool Negated, IReadOnlyList<string> Values);

    /// <summary>A value's Gatehouse forms: a subset and a superset of what it matches (null: everything).</summary>
    private sealed record ValueTranslation(IReadOnlyList<string> Under, IReadOnlyList<string>? Over, bool Exact, string? Reason);

    private sealed record Translation(string Field, SetKind Kind, IReadOnlyList<string> Values, bool Exact, string Reason)
    {
        /// <summary>Further conditions AND-ed with this one (e.g. no scp claim, so that scopes holds scope's words only).</summary>
        public IReadOnlyList<(string Field, bool Negated, IReadOnlyList<string> Values)> Extra { get; init; } = [];
    }
}
