using System.Globalization;
using Gatehouse.Configuration;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gatehouse.Cli.Import.Istio;

/// <summary>Writes imported issuers and policies as a Gatehouse config fragment (snake_case keys, docs/configuration.md).</summary>
internal static class IstioYamlWriter
{
    public static string Write(IstioImporter.ImportContext context)
    {
        var issuers = context.Issuers;
        var policies = context.Policies;
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        writer.NewLine = "\n";
        writer.WriteLine("version: 1");
        var trustDomains = string.Join(", ", new[] { context.Options.TrustDomain }.Concat(context.Options.TrustDomainAliases));
        writer.WriteLine($"# Imported from Istio by `gatehouse import istio` (trust domain: {trustDomains}).");
        if (context.RequiredEdits.Count == 0)
        {
            writer.WriteLine("# `gatehouse check -c` accepts this file as it is.");
        }
        else
        {
            writer.WriteLine("# Before `gatehouse check -c` accepts this file, add:");
            foreach (var edit in context.RequiredEdits)
            {
                writer.WriteLine($"#   - {edit}");
            }
        }

        if (context.Files.Count > 0)
        {
            writer.WriteLine($"# Keep next to this file (jwks_file paths are relative to it): {string.Join(", ", context.Files.Select(f => f.Name))}.");
        }

        writer.WriteLine("# To take effect, bind the policies to routes (routes[].policies; `global: true` ones apply to every route)");
        writer.WriteLine("# and the issuers to routes (routes[].authentication.issuers).");
        var inexact = policies.Sum(p => p.Notes.Count);
        if (inexact > 0)
        {
            writer.WriteLine($"# {inexact} Istio field(s) could not be carried over exactly: those rules fail closed (ALLOW rules match");
            writer.WriteLine("# less, DENY/AUDIT rules more); see the comment above each policy.");
        }

        var emitter = new Emitter(writer, new EmitterSettings(2, int.MaxValue, false, 1024));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, true));
        emitter.Emit(new MappingStart());

        Key(emitter, "issuers");
        emitter.Emit(new MappingStart());
        foreach (var issuer in issuers)
        {
            Key(emitter, issuer.Name);
            emitter.Emit(new MappingStart());
            Pair(emitter, "issuer", issuer.Issuer);
            if (issuer.JwksUri is not null)
            {
                Pair(emitter, "jwks_uri", issuer.JwksUri);
            }

            if (issuer.JwksFile is not null)
            {
                Pair(emitter, "jwks_file", issuer.JwksFile);
            }

            if (issuer.Discovery)
            {
                Key(emitter, "discovery");
                emitter.Emit(new Scalar(null, null, "true", ScalarStyle.Plain, true, false));
            }

            List(emitter, "audiences", issuer.Audiences, always: true);
            if (issuer.Keys.FetchTimeout != new KeyRefreshConfig().FetchTimeout)
            {
                Pair(emitter, "keys", null);
                emitter.Emit(new MappingStart(null, null, true, MappingStyle.Flow));
                Pair(emitter, "fetch_timeout", $"{issuer.Keys.FetchTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s");
                emitter.Emit(new MappingEnd());
            }

            emitter.Emit(new MappingEnd());
        }

        emitter.Emit(new MappingEnd());

        Key(emitter, "policies");
        emitter.Emit(new MappingStart());
        foreach (var (policy, notes) in policies)
        {
            foreach (var note in notes)
            {
                emitter.Emit(new Comment(note, false));
            }

            Key(emitter, policy.Name);
            emitter.Emit(new MappingStart());
            Pair(emitter, "action", policy.Action.ToString().ToLowerInvariant());
            if (policy.DryRun)
            {
                Key(emitter, "dry_run");
                emitter.Emit(new Scalar(null, null, "true", ScalarStyle.Plain, true, false));
            }

            if (policy.Global)
            {
                Key(emitter, "global");
                emitter.Emit(new Scalar(null, null, "true", ScalarStyle.Plain, true, false));
            }

            Key(emitter, "rules");
            emitter.Emit(new SequenceStart(null, null, true, policy.Rules.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
            foreach (var rule in policy.Rules)
            {
                WriteRule(emitter, rule);
            }

            emitter.Emit(new SequenceEnd());
            emitter.Emit(new MappingEnd());
        }

        emitter.Emit(new MappingEnd());
        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    private static void WriteRule(IEmitter emitter, PolicyRuleConfig rule)
    {
        var from = rule.From is null ? [] : FromFields(rule.From).Where(f => f.Values.Count > 0).ToList();
        var to = rule.To is null ? [] : ToFields(rule.To).Where(f => f.Values.Count > 0).ToList();
        var empty = from.Count == 0 && to.Count == 0 && rule.When.Count == 0;
        emitter.Emit(new MappingStart(null, null, true, empty ? MappingStyle.Flow : MappingStyle.Block));
        Section(emitter, "from", from);
        Section(emitter, "to", to);
        if (rule.When.Count > 0)
        {
            Key(emitter, "when");
            emitter.Emit(new MappingStart());
            // The converter emits each key once (conditions on one key are merged there), as a YAML mapping needs.
            foreach (var condition in rule.When)
            {
                List(emitter, (condition.Negated ? "not_" : "") + condition.Key, condition.Values, always: true);
            }

            emitter.Emit(new MappingEnd());
        }

        emitter.Emit(new MappingEnd());
    }

    private static void Section(IEmitter emitter, string name, List<(string Name, IReadOnlyList<string> Values)> fields)
    {
        if (fields.Count == 0)
        {
            return;
        }

        Key(emitter, name);
        emitter.Emit(new MappingStart());
        foreach (var (field, values) in fields)
        {
            List(emitter, field, values, always: true);
        }

        emitter.Emit(new MappingEnd());
    }

    private static IEnumerable<(string Name, IReadOnlyList<string> Values)> FromFields(FromConfig f) =>
    [
        ("principals", f.Principals), ("not_principals", f.NotPrincipals),
        ("namespaces", f.Namespaces), ("not_namespaces", f.NotNamespaces),
        ("ip_blocks", f.IpBlocks), ("not_ip_blocks", f.NotIpBlocks),
        ("request_principals", f.RequestPrincipals), ("not_request_principals", f.NotRequestPrincipals),
    ];

    private static IEnumerable<(string Name, IReadOnlyList<string> Values)> ToFields(ToConfig t) =>
    [
        ("hosts", t.Hosts), ("not_hosts", t.NotHosts),
        ("ports", t.Ports), ("not_ports", t.NotPorts),
        ("methods", t.Methods), ("not_methods", t.NotMethods),
        ("paths", t.Paths), ("not_paths", t.NotPaths),
    ];

    private static void Key(IEmitter emitter, string key) =>
        emitter.Emit(new Scalar(null, null, key, ScalarStyle.Any, true, true));

    private static void Pair(IEmitter emitter, string key, string? value)
    {
        Key(emitter, key);
        if (value is not null)
        {
            emitter.Emit(new Scalar(null, null, value, ScalarStyle.Any, true, true));
        }
    }

    private static void List(IEmitter emitter, string key, IReadOnlyList<string> values, bool always)
    {
        if (values.Count == 0 && !always)
        {
            return;
        }

        Key(emitter, key);
        emitter.Emit(new SequenceStart(null, null, true, SequenceStyle.Flow));
        foreach (var value in values)
        {
            // Values are strings in the config model: quote anything YAML would read as another type.
            var style = LooksNonString(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any;
            emitter.Emit(new Scalar(null, null, value, style, true, true));
        }

        emitter.Emit(new SequenceEnd());
    }

    private static bool LooksNonString(string value) =>
        value.Length == 0
        || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        || value is "true" or "false" or "null" or "~" or "yes" or "no" or "on" or "off";
}
