using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Model;
using Gatehouse.Policy;

namespace Gatehouse.Tests.Import.Istio;

// Note: Istio's matching as a model independent of the importer. IstioImportPropertyTests checks the import against
// it, and the `istio` fuzz target (fuzz/Gatehouse.Fuzz, which compiles this file too) checks rules AFL generates.
internal sealed record IstioRule(List<Dictionary<string, string[]>> Sources, List<Dictionary<string, string[]>> Operations, List<IstioCondition> When);

internal sealed record IstioCondition(string Key, string[] Values, string[] NotValues);

internal sealed record ModelRequest(string Method, string Host, int Port, string Path, string? Workload, string SourceIp, string RemoteIp,
    (string Iss, string Sub)? Token, string? Claims, string? XToken, string? Sni)
{
    public PolicyInput ToInput()
    {
        var request = new AuthorizationRequest
        {
            Method = Method,
            Host = Host,
            Port = Port,
            RawPath = Path,
            GetHeader = name => name == "x-token" ? XToken : null,
            SourceAddress = IPAddress.Parse(SourceIp),
            PeerIdentity = Workload,
        };
        Principal principal;
        if (Token is { } token)
        {
            using var claims = JsonDocument.Parse(Claims!);
            var scopes = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in new[] { "scope", "scp" })
            {
                if (claims.RootElement.TryGetProperty(name, out var value))
                {
                    var items = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Select(e => e.GetString() ?? "") : (value.GetString() ?? "").Split(' ');
                    scopes.UnionWith(items.Where(i => i.Length > 0));
                }
            }

            principal = new Principal
            {
                Workload = Workload,
                Issuer = token.Iss,
                IssuerName = "corp",
                Subject = token.Sub,
                Scopes = scopes,
                Claims = claims.RootElement.Clone(),
            };
        }
        else
        {
            principal = new Principal { Workload = Workload };
        }

        return new PolicyInput(request, Path, principal);
    }

    public override string ToString() =>
        $"{Method} {Host}:{Port}{Path} workload={Workload ?? "-"} ip={SourceIp} remote={RemoteIp} token={Token?.Iss}/{Token?.Sub} claims={Claims} x-token={XToken}";
}

/// <summary>
/// Istio's matching, from security/v1beta1/authorization_policy.proto and istiod's RBAC generator
/// (pilot/pkg/security/authz/model): trust domain cluster.local, no aliases.
/// </summary>
internal static class IstioModel
{
    public static bool Matches(IstioRule rule, ModelRequest r, string policyNamespace) =>
        (rule.Sources.Count == 0 || rule.Sources.Any(s => Fields(s, r, policyNamespace)))
        && (rule.Operations.Count == 0 || rule.Operations.Any(o => Fields(o, r, policyNamespace)))
        && rule.When.All(c => c.Values.Length > 0 ? Condition(c.Key, c.Values, r, policyNamespace) : !Condition(c.Key, c.NotValues, r, policyNamespace));

    private static bool Fields(Dictionary<string, string[]> fields, ModelRequest r, string ns) =>
        fields.All(kv =>
        {
            var negated = kv.Key.StartsWith("not", StringComparison.Ordinal) && char.IsUpper(kv.Key[3]);
            var name = negated ? char.ToLowerInvariant(kv.Key[3]) + kv.Key[4..] : kv.Key;
            var any = Attribute(name, kv.Value, r, ns);
            return negated ? !any : any;
        });

    private static bool Condition(string key, string[] values, ModelRequest r, string ns) => key switch
    {
        "request.auth.claims[groups]" => ClaimAny(r, "groups", values, split: false),
        "request.auth.claims[scope]" => ClaimAny(r, "scope", values, split: true),
        "request.auth.audiences" => ClaimAny(r, "aud", values, split: false),
        "request.headers[x-token]" => r.XToken is { } v && values.Any(p => Glob(p, v, StringComparison.Ordinal)),
        "source.ip" => Attribute("ipBlocks", values, r, ns),
        "remote.ip" => Attribute("remoteIpBlocks", values, r, ns),
        "source.namespace" => Attribute("namespaces", values, r, ns),
        "source.principal" => Attribute("principals", values, r, ns),
        "request.auth.principal" => Attribute("requestPrincipals", values, r, ns),
        "destination.port" => Attribute("ports", values, r, ns),
        "connection.sni" => r.Sni is { } sni && values.Any(p => Glob(p, sni, StringComparison.Ordinal)),
        _ => throw new InvalidOperationException(key),
    };

    private static bool Attribute(string name, string[] values, ModelRequest r, string ns) => name switch
    {
        "principals" => r.Workload is { } w && values.Any(v => Principal(v, w)),
        "serviceAccounts" => r.Workload is { } w && values.Any(v =>
        {
            var slash = v.IndexOf('/', StringComparison.Ordinal);
            var (n, sa) = slash < 0 ? (ns, v) : (v[..slash], v[(slash + 1)..]);
            return Regex.IsMatch(w, $"^spiffe://.+/ns/{Regex.Escape(n)}/(.+/|)sa/{Regex.Escape(sa)}(/.+)?$");
        }),
        "namespaces" => r.Workload is { } w && values.Any(v => Regex.IsMatch(w, "^.*/ns/" + v.Replace("*", ".*", StringComparison.Ordinal) + "/.*$")),
        "ipBlocks" => values.Any(v => InCidr(r.SourceIp, v)),
        "remoteIpBlocks" => values.Any(v => InCidr(r.RemoteIp, v)),
        "requestPrincipals" => r.Token is { } t && values.Any(v => RequestPrincipal(v, t.Iss, t.Sub)),
        "hosts" => values.Any(v => Glob(v, r.Host, StringComparison.OrdinalIgnoreCase)),
        "ports" => values.Contains(r.Port.ToString(CultureInfo.InvariantCulture)),
        "methods" => values.Any(v => Glob(v, r.Method, StringComparison.Ordinal)),
        "paths" => values.Any(v => Path(v, r.Path)),
        _ => throw new InvalidOperationException(name),
    };

    // StringMatcherWithPrefix(value, "spiffe://") after the trust-domain rewrite of 5-part principals.
    private static bool Principal(string value, string workload)
    {
        var parts = value.Split('/');
        if (parts.Length == 5 && parts[0] != "*" && parts[0] == "cluster.local")
        {
            value = "cluster.local/" + string.Join('/', parts[1..]);
        }

        return value == "*" ? workload.Length > 0
            : value.StartsWith('*') ? workload.EndsWith(value[1..], StringComparison.Ordinal)
            : value.EndsWith('*') ? workload.StartsWith("spiffe://" + value[..^1], StringComparison.Ordinal)
            : workload == "spiffe://" + value;
    }

    // requestPrincipalGenerator: split at the last '/', issuer and subject compared separately.
    private static bool RequestPrincipal(string v, string iss, string sub)
    {
        var idx = v.LastIndexOf('/');
        var (pi, ps) = idx >= 0 ? (v[..idx], v[(idx + 1)..]) : (v, "");
        static bool Any(string s) => s.Length > 0;
        if (v == "*")
        {
            return Any(iss) && Any(sub);
        }

        if (v.StartsWith('*'))
        {
            return idx >= 0
                ? (pi == "*" ? Any(iss) : iss.EndsWith(pi[1..], StringComparison.Ordinal)) && sub == ps
                : Any(iss) && sub.EndsWith(v[1..], StringComparison.Ordinal);
        }

        if (v.EndsWith('*'))
        {
            return idx >= 0
                ? iss == pi && (ps == "*" ? Any(sub) : sub.StartsWith(ps[..^1], StringComparison.Ordinal))
                : iss.StartsWith(v[..^1], StringComparison.Ordinal) && Any(sub);
        }

        return iss == pi && sub == ps;
    }

    // Claims: a string or each item of a list; scope (and permission) split into words.
    private static bool ClaimAny(ModelRequest r, string claim, string[] values, bool split)
    {
        if (r.Claims is null)
        {
            return false;
        }

        using var doc = JsonDocument.Parse(r.Claims);
        if (!doc.RootElement.TryGetProperty(claim, out var value))
        {
            return false;
        }

        var items = value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : value.ValueKind == JsonValueKind.String ? [value.GetString()!] : [];
        if (split)
        {
            items = [.. items.SelectMany(i => i.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
        }

        return items.Any(i => values.Any(p => Glob(p, i, StringComparison.Ordinal)));
    }

    // Path: templates {*} (one segment) and {**} (the rest); otherwise Istio's string match where a '*' elsewhere
    // is literal.
    private static bool Path(string pattern, string path)
    {
        if (pattern.Contains('{', StringComparison.Ordinal))
        {
            var regex = "^" + Regex.Escape(pattern).Replace(@"\{\*\*}", ".*", StringComparison.Ordinal).Replace(@"\{\*}", "[^/]+", StringComparison.Ordinal) + "$";
            return Regex.IsMatch(path, regex);
        }

        return Glob(pattern, path, StringComparison.Ordinal);
    }

    private static bool Glob(string pattern, string value, StringComparison comparison) =>
        pattern == "*" ? value.Length > 0
        : pattern.StartsWith('*') ? value.EndsWith(pattern[1..], comparison)
        : pattern.EndsWith('*') ? value.StartsWith(pattern[..^1], comparison)
        : string.Equals(value, pattern, comparison);

    private static bool InCidr(string address, string block)
    {
        var network = block.Contains('/', StringComparison.Ordinal) ? IPNetwork.Parse(Canonical(block)) : new IPNetwork(IPAddress.Parse(block), 32);
        return network.Contains(IPAddress.Parse(address));
    }

    private static string Canonical(string block)
    {
        var (address, prefix) = (IPAddress.Parse(block[..block.IndexOf('/', StringComparison.Ordinal)]), int.Parse(block[(block.IndexOf('/', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture));
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return $"{new IPAddress(bytes)}/{prefix}";
    }
}

/// <summary>Writes a model rule as the Istio manifest the importer reads (shared by the property tests and the fuzz target).</summary>
internal static class IstioManifest
{
    /// <summary>The rule as an AuthorizationPolicy manifest in namespace foo (flow style, quoted values).</summary>
    public static string Render(string action, IstioRule rule)
    {
        var yaml = new StringBuilder();
        yaml.Append(CultureInfo.InvariantCulture, $"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{ name: p, namespace: foo }}\nspec:\n  action: {action}\n  rules:\n  - ");
        var first = true;
        void Section(string name, string inner, List<Dictionary<string, string[]>> items)
        {
            if (items.Count == 0)
            {
                return;
            }

            yaml.Append(first ? "" : "    ").Append(name).Append(":\n");
            first = false;
            foreach (var item in items)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"    - {inner}: {{ {string.Join(", ", item.Select(kv => $"{kv.Key}: {Flow(kv.Value)}"))} }}\n");
            }
        }

        Section("from", "source", rule.Sources);
        Section("to", "operation", rule.Operations);
        if (rule.When.Count > 0)
        {
            yaml.Append(first ? "" : "    ").Append("when:\n");
            first = false;
            foreach (var c in rule.When)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"    - {{ key: \"{c.Key}\", {(c.Values.Length > 0 ? "values" : "notValues")}: {Flow(c.Values.Length > 0 ? c.Values : c.NotValues)} }}\n");
            }
        }

        if (first)
        {
            yaml.Append("{}\n");
        }

        return yaml.ToString();
    }

    private static string Flow(string[] values) => "[" + string.Join(", ", values.Select(v => "\"" + v + "\"")) + "]";
}
