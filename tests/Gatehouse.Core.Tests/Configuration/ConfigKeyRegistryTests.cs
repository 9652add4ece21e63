using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary>
/// One source for each config key: <see cref="ConfigKeyRegistry"/> declares it (section, name, kind, default, range,
/// description) and the binder's accepted keys are derived from it. These tests hold everything else to that
/// declaration — the JSON Schema, docs/configuration.md, the binder (each key is read, each range enforced) and the
/// effective-config writer — and say what to add where when they differ (docs/architecture.md, "Adding a config key").
/// </summary>
public sealed partial class ConfigKeyRegistryTests : IDisposable
{
    private const string RegistryFile = "src/Gatehouse.Core/Configuration/ConfigKeyRegistry.cs";
    private static readonly Dictionary<string, string> s_noEnvironment = [];
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    public static TheoryData<string, string> DeclaredKeys()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in ConfigKeyRegistry.All)
        {
            data.Add(key.Section, key.Name);
        }
        return data;
    }

    public static TheoryData<string, string> RangedKeys()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in ConfigKeyRegistry.All.Where(k => k.Min is not null || k.Max is not null))
        {
            data.Add(key.Section, key.Name);
        }
        return data;
    }

    [Fact]
    public void Registry_DeclaresEachKeyOnce_InKnownSections()
    {
        var duplicates = ConfigKeyRegistry.All.GroupBy(k => (k.Section, k.Name)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var unknownSections = ConfigKeyRegistry.All.Select(k => k.Section).Distinct()
            .Where(s => ConfigKeyRegistry.Sections.All(d => d.Name != s)).ToList();

        Assert.True(duplicates.Count == 0, $"{RegistryFile}: declared twice: {string.Join(", ", duplicates)}");
        Assert.True(unknownSections.Count == 0, $"{RegistryFile}: add these sections to ConfigKeyRegistry.Sections: {string.Join(", ", unknownSections)}");
        Assert.All(ConfigKeyRegistry.All, k => Assert.False(string.IsNullOrWhiteSpace(k.Doc), $"{k.Section}.{k.Name} needs a doc line"));
    }

    [Theory]
    [MemberData(nameof(DeclaredKeys))]
    public void Schema_DescribesTheKeyAsDeclared(string section, string name)
    {
        var key = Declared(section, name);
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(ConfigTestFiles.RepositoryRoot(), "schema", "gatehouse.schema.json")));
        var pointer = section == "root" ? $"properties/{name}" : $"$defs/{section}/properties/{name}";
        var properties = section == "root" ? schema.RootElement.GetProperty("properties") : schema.RootElement.GetProperty("$defs").GetProperty(section).GetProperty("properties");
        var where = $"schema/gatehouse.schema.json #/{pointer}";

        Assert.True(properties.TryGetProperty(name, out var property), $"{where} is missing: add it (kind {key.Kind}, description \"{key.Doc}\")");
        Assert.True(key.Kind == KindOf(property), $"{where}: the schema says {KindOf(property)}, {RegistryFile} declares {key.Kind}; make them agree");
        Assert.True(property.TryGetProperty("description", out var description) && description.GetString() == key.Doc,
            $"{where}: description must be the declared doc line \"{key.Doc}\" (edit both together)");
        if (key.Kind == ConfigValueKind.Enum)
        {
            Assert.Equal(key.Values, property.GetProperty("enum").EnumerateArray().Select(v => v.GetString()));
        }
        if (key.Kind == ConfigValueKind.Integer)
        {
            Assert.True(Bound(property, "minimum") == key.Min, $"{where}: minimum must be {key.Min ?? "absent"} as declared");
            Assert.True(Bound(property, "maximum") == key.Max, $"{where}: maximum must be {key.Max ?? "absent"} as declared");
        }
    }

    [Theory]
    [MemberData(nameof(DeclaredKeys))]
    public void Docs_TableShowsTheKeyWithItsDefault(string section, string name)
    {
        var key = Declared(section, name);
        var docs = DocsTables.Load();
        if (section == "root")
        {
            Assert.True(docs.Headings.Contains(name), $"docs/configuration.md: add a section \"## `{name}`\" for the top-level key");
            return;
        }

        var row = docs.Find(SectionOf(section).DocPath, name);
        if (row is null && key.Kind == ConfigValueKind.Object && docs.DocumentsInline(SectionOf(section).DocPath, name))
        {
            return; // e.g. routes[].match: its keys are rows `match.hosts`, `match.path_prefix` of the routes table
        }

        var heading = DocsTables.HeadingOf(SectionOf(section).DocPath);
        Assert.True(row is not null,
            $"docs/configuration.md: add to the table under \"`{heading}`\" the row: | `{name}` | {key.Kind.ToString().ToLowerInvariant()} | `{key.Default}` | {key.Doc} |");
        Assert.True(row == key.Default,
            $"docs/configuration.md, table under \"`{heading}`\", row `{name}`: the default column says \"{row}\", {RegistryFile} declares \"{key.Default}\"");
    }

    [Fact]
    public void Docs_DocumentsNoUndeclaredKey()
    {
        var docs = DocsTables.Load();
        var undeclared = new List<string>();
        foreach (var section in ConfigKeyRegistry.Sections.Where(s => s.Name != "root"))
        {
            foreach (var documented in docs.RowsUnder(section.DocPath))
            {
                var (docPath, name) = documented.Contains('.', StringComparison.Ordinal)
                    ? (section.DocPath + "." + documented[..documented.LastIndexOf('.')], documented[(documented.LastIndexOf('.') + 1)..])
                    : (section.DocPath, documented);
                var target = ConfigKeyRegistry.Sections.FirstOrDefault(s => s.DocPath == docPath);
                if (target is null || ConfigKeyRegistry.All.All(k => k.Section != target.Name || k.Name != name))
                {
                    undeclared.Add($"`{documented}` under \"`{DocsTables.HeadingOf(section.DocPath)}`\"");
                }
            }
        }

        Assert.True(undeclared.Count == 0,
            $"docs/configuration.md documents keys {RegistryFile} does not declare (the binder would refuse them): {string.Join(", ", undeclared)}");
    }

    [Theory]
    [MemberData(nameof(DeclaredKeys))]
    public void Binder_ReadsTheKey(string section, string name)
    {
        // A value of the wrong shape must be refused at exactly the key's path: a declared key the binder never
        // reads would be accepted and silently ignored.
        var key = Declared(section, name);
        var probe = key.Kind is ConfigValueKind.Object or ConfigValueKind.Map ? JsonValue.Create("not-a-mapping") : (JsonNode)new JsonObject { ["probe"] = 1 };

        var (path, errors) = LoadWith(section, name, probe);

        Assert.True(errors.Any(e => e.Path == path),
            $"{path} is declared in {RegistryFile} but a wrong value there raises no error: the binder does not read it. "
            + $"Add a case for \"{name}\" where ConfigBinder binds section '{section}'. Errors seen: {string.Join("; ", errors)}");
    }

    [Theory]
    [MemberData(nameof(RangedKeys))]
    public void Binder_EnforcesTheDeclaredRange(string section, string name)
    {
        var key = Declared(section, name);
        var (below, min, max, above) = Edges(key);

        foreach (var (value, accepted) in new[] { (below, false), (min, true), (max, true), (above, false) })
        {
            if (value is null)
            {
                continue;
            }
            // Integers are written as JSON numbers (a quoted "5" is a string to the binder); durations and sizes as text.
            JsonNode node = key.Kind == ConfigValueKind.Integer ? JsonValue.Create(long.Parse(value, CultureInfo.InvariantCulture)) : JsonValue.Create(value);
            var (path, errors) = LoadWith(section, name, node);
            var refused = errors.Any(e => e.Path == path);
            Assert.True(refused != accepted,
                $"{path}: {value} should be {(accepted ? "accepted" : "refused")} (declared range {key.Min ?? "-"} .. {key.Max ?? "-"} in {RegistryFile}); "
                + $"the binder's range check and the declaration differ. Errors: {string.Join("; ", errors)}");
        }
    }

    public static TheoryData<string, string> EnumKeys()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in ConfigKeyRegistry.All.Where(k => k.Kind == ConfigValueKind.Enum))
        {
            data.Add(key.Section, key.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(EnumKeys))]
    public void Binder_AcceptsExactlyTheDeclaredValues(string section, string name)
    {
        var key = Declared(section, name);
        Assert.NotEmpty(key.Values);

        foreach (var value in key.Values)
        {
            var (path, errors) = LoadWith(section, name, JsonValue.Create(value));
            Assert.True(errors.All(e => e.Path != path),
                $"{path}: '{value}' is declared in {RegistryFile} but the binder refuses it: {string.Join("; ", errors.Where(e => e.Path == path))}");
        }
        var (probePath, probeErrors) = LoadWith(section, name, JsonValue.Create("not-a-declared-value"));
        Assert.True(probeErrors.Any(e => e.Path == probePath), $"{probePath}: the binder accepts a value {RegistryFile} does not declare");
    }

    [Fact]
    public void EffectiveConfig_WritesEveryDeclaredKey()
    {
        var loaded = ConfigLoader.LoadYaml(ConfigLoaderTests.EveryField, "test.yaml", _files.Directory, s_noEnvironment);
        Assert.True(loaded.IsValid, string.Join(Environment.NewLine, loaded.Errors));
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            EffectiveConfigWriter.WriteJson(loaded.Config!, writer);
        }
        var json = JsonNode.Parse(stream.ToArray())!;

        var missing = ConfigKeyRegistry.All
            .Where(k => !Nodes(json, SectionOf(k.Section).DocPath).Any(n => n is JsonObject o && o.ContainsKey(k.Name)))
            .Select(k => $"{SectionOf(k.Section).DocPath}.{k.Name}".TrimStart('.'))
            .ToList();

        Assert.True(missing.Count == 0,
            "EffectiveConfigWriter (the admin /config endpoint) does not write these declared keys; write them in "
            + "src/Gatehouse.Core/Configuration/EffectiveConfigWriter.cs (and set them in ConfigLoaderTests.EveryField): " + string.Join(", ", missing));
    }

    private static ConfigKeyDeclaration Declared(string section, string name) =>
        ConfigKeyRegistry.All.Single(k => k.Section == section && k.Name == name);

    private static ConfigSectionDeclaration SectionOf(string section) =>
        ConfigKeyRegistry.Sections.Single(s => s.Name == section);

    private static string? Bound(JsonElement property, string name) =>
        property.TryGetProperty(name, out var value) ? value.GetRawText() : null;

    /// <summary>The kind a schema property expresses (the same reading the registry was declared with).</summary>
    private static ConfigValueKind? KindOf(JsonElement property)
    {
        if (property.TryGetProperty("$ref", out var reference))
        {
            return reference.GetString()!.Split('/')[^1] switch
            {
                "duration" => ConfigValueKind.Duration,
                "size" => ConfigValueKind.Size,
                "file_path" => ConfigValueKind.File,
                "http_url" => ConfigValueKind.Url,
                "string_list" => ConfigValueKind.List,
                _ => ConfigValueKind.Object,
            };
        }
        if (property.TryGetProperty("enum", out _))
        {
            return ConfigValueKind.Enum;
        }
        if (property.TryGetProperty("const", out _))
        {
            return ConfigValueKind.Integer;
        }
        return property.TryGetProperty("type", out var type) ? type.GetString() switch
        {
            "boolean" => ConfigValueKind.Bool,
            "integer" => ConfigValueKind.Integer,
            "number" => ConfigValueKind.Number,
            "string" => ConfigValueKind.String,
            "array" => ConfigValueKind.List,
            "object" => ConfigValueKind.Map,
            _ => null,
        } : null;
    }

    /// <summary>Values just outside and at the edges of the declared range, in config syntax.</summary>
    private static (string? Below, string? Min, string? Max, string? Above) Edges(ConfigKeyDeclaration key)
    {
        switch (key.Kind)
        {
            case ConfigValueKind.Duration:
            {
                long? Ms(string? text) => text is null ? null : ConfigValues.TryParseDuration(text, out var span) ? (long)span.TotalMilliseconds : throw new InvalidOperationException(text);
                var (min, max) = (Ms(key.Min), Ms(key.Max));
                return (min > 0 ? $"{min - 1}ms" : null, min is null ? null : $"{min}ms", max is null ? null : $"{max}ms", max is null ? null : $"{max + 1}ms");
            }
            case ConfigValueKind.Size:
            {
                long? Bytes(string? text) => text is null ? null : ConfigValues.TryParseSize(text, out var size) ? size : throw new InvalidOperationException(text);
                var (min, max) = (Bytes(key.Min), Bytes(key.Max));
                return (min > 0 ? $"{min - 1}" : null, min?.ToString(CultureInfo.InvariantCulture), max?.ToString(CultureInfo.InvariantCulture), max is null ? null : $"{max + 1}");
            }
            default:
            {
                long? Number(string? text) => text is null ? null : long.Parse(text, CultureInfo.InvariantCulture);
                var (min, max) = (Number(key.Min), Number(key.Max));
                return (min is null ? null : $"{min - 1}", min?.ToString(CultureInfo.InvariantCulture), max?.ToString(CultureInfo.InvariantCulture), max is null ? null : $"{max + 1}");
            }
        }
    }

    /// <summary>Loads a small valid config with <paramref name="value"/> set at the key; returns the key's path as the
    /// binder reports it and every error.</summary>
    private (string Path, IReadOnlyList<ConfigError> Errors) LoadWith(string section, string name, JsonNode value)
    {
        var config = new JsonObject
        {
            ["version"] = 1,
            ["issuers"] = new JsonObject
            {
                ["corp"] = new JsonObject { ["issuer"] = "https://idp.example.com/", ["jwks_file"] = "jwks.json", ["audiences"] = new JsonArray("orders") },
            },
            // Note: TLS with a client CA, so that every client_certificate mode is valid on its own.
            ["listeners"] = new JsonArray(new JsonObject
            {
                ["name"] = "edge", ["mode"] = "gateway", ["address"] = "127.0.0.1:8080",
                ["tls"] = new JsonObject { ["certificate"] = "cert.pem", ["key"] = "key.pem", ["client_ca"] = "ca.pem" },
            }),
            ["routes"] = new JsonArray(new JsonObject { ["name"] = "orders", ["upstream"] = "http://127.0.0.1:5001" }),
            ["policies"] = new JsonObject { ["p"] = new JsonObject { ["rules"] = new JsonArray(new JsonObject()) } },
        };

        // Walk the section's doc path (NAME → the first map entry, [] → item 0), creating what is missing.
        JsonNode node = config;
        var path = new StringBuilder();
        foreach (var segment in SectionOf(section).DocPath.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var list = segment.EndsWith("[]", StringComparison.Ordinal);
            var field = list ? segment[..^2] : segment;
            if (field == "NAME")
            {
                var first = ((JsonObject)node).First();
                node = first.Value!;
                path.Append('.').Append(first.Key);
                continue;
            }
            var parent = (JsonObject)node;
            parent[field] ??= list ? new JsonArray(new JsonObject()) : new JsonObject();
            node = parent[field]!;
            path.Append('.').Append(field);
            if (list)
            {
                if (((JsonArray)node).Count == 0)
                {
                    ((JsonArray)node).Add(new JsonObject());
                }
                node = ((JsonArray)node)[0]!;
                path.Append("[0]");
            }
        }
        ((JsonObject)node)[name] = value;
        path.Append('.').Append(name);

        // JSON is YAML 1.2: the binder reads it as flow mappings and sequences.
        var result = ConfigLoader.LoadYaml(config.ToJsonString(), "probe.yaml", _files.Directory, s_noEnvironment);
        return (path.ToString().TrimStart('.'), result.Errors);
    }

    /// <summary>The JSON nodes at a doc path (every map entry for NAME, every item for []).</summary>
    private static IEnumerable<JsonNode?> Nodes(JsonNode root, string docPath)
    {
        IEnumerable<JsonNode?> current = [root];
        foreach (var segment in docPath.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var list = segment.EndsWith("[]", StringComparison.Ordinal);
            var field = list ? segment[..^2] : segment;
            current = field == "NAME"
                ? current.OfType<JsonObject>().SelectMany(o => o.Select(p => p.Value))
                : current.OfType<JsonObject>().Select(o => o[field]);
            if (list)
            {
                current = current.OfType<JsonArray>().SelectMany(a => a);
            }
        }
        return current;
    }

    /// <summary>The key tables of docs/configuration.md: heading (the backticked text of a ## or ### line) → rows.</summary>
    private sealed partial class DocsTables
    {
        private readonly Dictionary<string, List<(string[] Names, string Default)>> _tables = new(StringComparer.Ordinal);

        public HashSet<string> Headings { get; } = new(StringComparer.Ordinal);

        public static DocsTables Load()
        {
            var docs = new DocsTables();
            List<(string[], string)>? current = null;
            foreach (var line in File.ReadLines(Path.Combine(ConfigTestFiles.RepositoryRoot(), "docs", "configuration.md")))
            {
                var heading = HeadingPattern().Match(line);
                if (heading.Success)
                {
                    docs.Headings.Add(heading.Groups[1].Value);
                    current = docs._tables.TryGetValue(heading.Groups[1].Value, out var existing) ? existing : docs._tables[heading.Groups[1].Value] = [];
                    continue;
                }
                if (line.StartsWith('#'))
                {
                    current = null;
                    continue;
                }
                if (current is not null && line.StartsWith("| `", StringComparison.Ordinal))
                {
                    var cells = CellSeparator().Split(line.Trim().Trim('|')).Select(c => c.Trim()).ToArray();
                    var names = BacktickedPattern().Matches(cells[0]).Select(m => m.Groups[1].Value).ToArray();
                    current.Add((names, cells.Length > 2 ? cells[2].Replace("`", "", StringComparison.Ordinal).Replace("**", "", StringComparison.Ordinal) : ""));
                }
            }
            return docs;
        }

        /// <summary><c>issuers.NAME</c> → <c>issuers</c>, <c>routes[]</c> → <c>routes</c>: how the docs head a section.</summary>
        public static string HeadingOf(string docPath) =>
            docPath.EndsWith(".NAME", StringComparison.Ordinal) ? docPath[..^5] : docPath.EndsWith("[]", StringComparison.Ordinal) ? docPath[..^2] : docPath;

        /// <summary>The default cell of <paramref name="name"/>: a row under the section's heading, or a dotted row
        /// (<c>match.hosts</c>) under its parent's.</summary>
        public string? Find(string docPath, string name)
        {
            foreach (var (names, defaultCell) in Rows(HeadingOf(docPath)))
            {
                if (names.Contains(name))
                {
                    return defaultCell;
                }
            }
            var dot = docPath.LastIndexOf('.');
            if (dot > 0)
            {
                foreach (var (names, defaultCell) in Rows(HeadingOf(docPath[..dot])))
                {
                    if (names.Contains(docPath[(dot + 1)..] + "." + name))
                    {
                        return defaultCell;
                    }
                }
            }
            return null;
        }

        /// <summary>Whether the object key <paramref name="name"/> of a section is documented by dotted rows of its keys.</summary>
        public bool DocumentsInline(string docPath, string name) =>
            Rows(HeadingOf(docPath)).Any(r => r.Names.Any(n => n.StartsWith(name + ".", StringComparison.Ordinal)));

        /// <summary>Every key name documented under a section's heading.</summary>
        public IEnumerable<string> RowsUnder(string docPath) => Rows(HeadingOf(docPath)).SelectMany(r => r.Names);

        private IEnumerable<(string[] Names, string Default)> Rows(string heading) =>
            _tables.TryGetValue(heading, out var rows) ? rows : [];

        [GeneratedRegex(@"^#{2,3} `([^`]+)`")]
        private static partial Regex HeadingPattern();

        [GeneratedRegex(@"(?<!\\)\|")]
        private static partial Regex CellSeparator();

        [GeneratedRegex("`([^`]+)`")]
        private static partial Regex BacktickedPattern();
    }
}
