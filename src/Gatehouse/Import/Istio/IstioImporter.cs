using System.Globalization;
using System.Text.Json;
using Gatehouse.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Cli.Import.Istio;

/// <summary>Options of <see cref="IstioImporter.Import"/>.</summary>
public sealed record IstioImportOptions
{
    /// <summary>
    /// The mesh's trust domain (Istio <c>meshConfig.trustDomain</c>, default <c>cluster.local</c>): principals written
    /// with <c>cluster.local</c> or this trust domain, and service accounts, become SPIFFE IDs in it.
    /// </summary>
    public string TrustDomain { get; init; } = "cluster.local";

    /// <summary>Istio <c>meshConfig.trustDomainAliases</c>: principals of the trust domain match these too.</summary>
    public IReadOnlyList<string> TrustDomainAliases { get; init; } = [];
}

/// <summary>A file the import needs next to the config it writes (an inline JWKS).</summary>
/// <param name="Name">File name, relative to the directory of the config (as <c>jwks_file</c> resolves it).</param>
/// <param name="Content">The file's content.</param>
public sealed record IstioImportFile(string Name, string Content);

/// <summary>The output of <see cref="IstioImporter.Import"/>.</summary>
public sealed class IstioImportResult
{
    /// <summary>A Gatehouse config (<c>version: 1</c>, <c>issuers:</c>, <c>policies:</c>) in YAML.</summary>
    public required string Yaml { get; init; }

    /// <summary>One line per field that could not be carried over exactly, and what was done instead.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>What must be added to <see cref="Yaml"/> before <c>gatehouse check</c> accepts it (empty: nothing).</summary>
    public required IReadOnlyList<string> RequiredEdits { get; init; }

    /// <summary>Files to write next to the config (inline JWKS of RequestAuthentication rules).</summary>
    public required IReadOnlyList<IstioImportFile> Files { get; init; }

    /// <summary>The issuers, as config objects (same content as <see cref="Yaml"/>).</summary>
    public required IReadOnlyList<IssuerConfig> Issuers { get; init; }

    /// <summary>The policies, as config objects (same content as <see cref="Yaml"/>).</summary>
    public required IReadOnlyList<PolicyConfig> Policies { get; init; }
}

/// <summary>
/// Converts Istio <c>security.istio.io/v1</c> (and <c>v1beta1</c>) <c>RequestAuthentication</c> and
/// <c>AuthorizationPolicy</c> manifests into Gatehouse config, without ever widening access.
/// </summary>
/// <remarks>
/// Every Istio rule is carried over exactly where Gatehouse has the same attribute and matching (semantics from the
/// <c>security/v1beta1/authorization_policy.proto</c> reference and istiod's RBAC generator). Where it has not, the
/// imported rule fails closed instead of growing: in an ALLOW policy the Gatehouse rule matches a subset of the
/// requests the Istio rule matches (a value it cannot express is dropped; a rule left with no way to match is not
/// emitted, so it matches nothing), in a DENY or AUDIT policy a superset (a condition it cannot express is dropped, so
/// the rule denies more). Each such change is a warning and a comment in the output.
/// </remarks>
public static class IstioImporter
{
    /// <summary>Istio's default root namespace: policies there without a selector apply mesh-wide.</summary>
    public const string RootNamespace = "istio-system";

    /// <summary>Claims Istio always matches as space-delimited lists (RequestAuthentication spaceDelimitedClaims).</summary>
    private static readonly string[] s_defaultSpaceDelimitedClaims = ["scope", "permission"];

    /// <summary>Imports every document of every manifest (multi-document YAML and <c>kind: List</c> are accepted).</summary>
    public static IstioImportResult Import(IEnumerable<(string FileName, string Yaml)> manifests, IstioImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        var context = new ImportContext(options ?? new IstioImportOptions());
        var documents = new List<(string File, YamlMappingNode Root)>();
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
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                // Note: YamlDotNet throws these instead of a YamlException on a tag that is not a URI ("!!!!+8") and
                // on some malformed flow collections (found by the `istio` fuzz target, fuzz/regressions/istio).
                context.Warnings.Add($"{fileName}: not valid YAML, skipped: {ex.Message.Split(" (Parameter", 2)[0]}");
                continue;
            }

            foreach (var document in stream.Documents)
            {
                if (document.RootNode is YamlMappingNode root)
                {
                    Flatten(fileName, root, documents);
                }
            }
        }

        // RequestAuthentications first: their spaceDelimitedClaims decide how claim conditions of policies match.
        foreach (var (file, root) in documents.Where(d => Scalar(d.Root, "kind") == "RequestAuthentication"))
        {
            ImportObject(context, file, root);
        }

        foreach (var (file, root) in documents.Where(d => Scalar(d.Root, "kind") != "RequestAuthentication"))
        {
            ImportObject(context, file, root);
        }

        return new IstioImportResult
        {
            Yaml = IstioYamlWriter.Write(context),
            Warnings = context.Warnings,
            RequiredEdits = context.RequiredEdits,
            Files = context.Files,
            Issuers = context.Issuers,
            Policies = [.. context.Policies.Select(p => p.Policy)],
        };
    }

    private static void Flatten(string file, YamlMappingNode root, List<(string, YamlMappingNode)> documents)
    {
        if (Scalar(root, "kind") == "List" && Child(root, "items") is YamlSequenceNode items)
        {
            foreach (var item in items.Children.OfType<YamlMappingNode>())
            {
                Flatten(file, item, documents);
            }

            return;
        }

        documents.Add((file, root));
    }

    private static void ImportObject(ImportContext context, string file, YamlMappingNode root)
    {
        var kind = Scalar(root, "kind");
        var apiVersion = Scalar(root, "apiVersion") ?? "";
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
        foreach (var (key, _) in Entries(spec))
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
            string? inlineJwks = null;
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
                        inlineJwks = ScalarOf(value);
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
                    case "spaceDelimitedClaims":
                        foreach (var claim in Strings(value))
                        {
                            context.SpaceDelimitedClaims.Add(claim);
                        }

                        break;
                    default:
                        where.Warn($"{path}.{key}", "not supported, ignored");
                        break;
                }
            }

            if (inlineJwks is not null)
            {
                // The keys themselves, not a discovery that would fetch different (or no) keys: written to a file next
                // to the config, which jwks_file resolves against (docs/configuration.md, "file").
                var fileName = SafeFileName(issuerName) + ".jwks.json";
                context.Files.Add(new IstioImportFile(fileName, inlineJwks.EndsWith('\n') ? inlineJwks : inlineJwks + "\n"));
                if (issuer.JwksUri is not null)
                {
                    where.Warn($"{path}.jwksUri", "both jwks and jwksUri are set; the inline jwks is used (jwks_file)");
                }

                issuer = issuer with { JwksUri = null, JwksFile = fileName };
                if (!IsJwks(inlineJwks))
                {
                    context.RequiredEdits.Add($"{fileName}: the inline jwks of {issuerName} is not a JSON Web Key Set (RFC 7517 §5: an object with \"keys\"); replace it with the issuer's keys");
                }
            }
            else if (issuer.JwksUri is null)
            {
                issuer = issuer with { Discovery = true }; // Istio uses OpenID discovery when neither jwks nor jwksUri is set
            }

            if (issuer.Audiences.Count == 0)
            {
                where.Warn($"{path}.audiences", "absent: Istio then accepts the workload's service name as audience, Gatehouse needs the list");
                context.RequiredEdits.Add($"issuers.{issuerName}.audiences: the audiences its tokens carry (Istio accepted tokens for the workload's own service name when the list was empty)");
            }

            if (string.IsNullOrEmpty(issuer.Issuer))
            {
                where.Warn($"{path}.issuer", "missing: the issuer cannot be used");
                context.RequiredEdits.Add($"issuers.{issuerName}.issuer: the exact `iss` of its tokens");
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
        PolicyAction? action = actionText.ToUpperInvariant() switch
        {
            "ALLOW" => PolicyAction.Allow,
            "DENY" => PolicyAction.Deny,
            "AUDIT" => PolicyAction.Audit,
            "CUSTOM" => PolicyAction.Custom,
            _ => null,
        };
        if (action is null)
        {
            where.Warn("spec.action", $"unknown action '{actionText}': policy skipped (Istio refuses it too)");
            return;
        }

        var policyName = context.UniquePolicyName(Qualified(name, ns));
        var notes = new List<string>();
        var hasSelector = false;
        var unknownFields = false;
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
                    unknownFields = true;
                    where.Warn($"spec.{key}", "unknown field: the policy fails closed");
                    notes.Add($"spec.{key} is unknown: the policy fails closed");
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
        var narrow = action == PolicyAction.Allow;

        var rules = new List<PolicyRuleConfig>();
        if (unknownFields)
        {
            // An ALLOW policy that allows nothing, a DENY/AUDIT policy that matches everything.
            if (!narrow)
            {
                rules.Add(new PolicyRuleConfig());
            }
        }
        else if (Child(spec, "rules") is YamlSequenceNode ruleNodes)
        {
            var index = 0;
            foreach (var ruleNode in ruleNodes.Children)
            {
                var path = $"spec.rules[{index++}]";
                var rule = ruleNode as YamlMappingNode ?? new YamlMappingNode(); // `- {}` / null: matches every request
                var converter = new IstioRuleConverter(context, where, path, ns, narrow, notes);
                rules.AddRange(converter.Convert(rule));
            }
        }

        context.Policies.Add(new ImportedPolicy(
            new PolicyConfig { Name = policyName, Action = action.Value, DryRun = dryRun, Global = isGlobal, Rules = rules },
            notes));
    }

    /// <summary><c>request.auth.claims[a][b]</c> → <c>["a", "b"]</c>; null when malformed.</summary>
    internal static IReadOnlyList<string>? ParseClaimPath(string key)
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

        return parts.Count == 0 ? null : parts;
    }

    private static bool IsJwks(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("keys", out var keys) && keys.ValueKind == JsonValueKind.Array;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string SafeFileName(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));

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

    internal static IEnumerable<(string Key, YamlNode Value)> Entries(YamlMappingNode node) =>
        node.Children.Select(c => (c.Key is YamlScalarNode s ? s.Value ?? "" : "", c.Value));

    internal static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    internal static string? Scalar(YamlMappingNode node, string key) => ScalarOf(Child(node, key));

    internal static string? ScalarOf(YamlNode? node) => node is YamlScalarNode { Value: { Length: > 0 } value } ? value : null;

    internal static List<string> Strings(YamlNode node) => node switch
    {
        YamlSequenceNode sequence => [.. sequence.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "").Where(s => s.Length > 0)],
        YamlScalarNode { Value: { Length: > 0 } value } => [value],
        _ => [],
    };

    /// <summary>A policy as imported, with the notes the YAML writer puts above it.</summary>
    internal sealed record ImportedPolicy(PolicyConfig Policy, IReadOnlyList<string> Notes);

    internal sealed class ImportContext(IstioImportOptions options)
    {
        private readonly HashSet<string> _issuerNames = new(StringComparer.Ordinal);
        private readonly HashSet<string> _policyNames = new(StringComparer.Ordinal);

        public IstioImportOptions Options { get; } = options;

        public List<string> Warnings { get; } = [];

        public List<string> RequiredEdits { get; } = [];

        public List<IstioImportFile> Files { get; } = [];

        public List<IssuerConfig> Issuers { get; } = [];

        public List<ImportedPolicy> Policies { get; } = [];

        public HashSet<string> SpaceDelimitedClaims { get; } = new(s_defaultSpaceDelimitedClaims, StringComparer.Ordinal);

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

    internal sealed class Location(ImportContext context, string prefix)
    {
        public void Warn(string field, string message) =>
            context.Warnings.Add(field.Length == 0 ? $"{prefix}: {message}" : $"{prefix}: {field}: {message}");
    }
}
