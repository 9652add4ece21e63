using System.Text.Json;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary>The JSON Schema and the binder must know exactly the same keys, so neither can drift from the other.</summary>
public sealed class ConfigSchemaTests
{
    private static JsonDocument LoadSchema() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(ConfigTestFiles.RepositoryRoot(), "schema", "gatehouse.schema.json")));

    private static string[] PropertyNames(JsonElement objectSchema) =>
        [.. objectSchema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void Schema_RootProperties_MatchBinder()
    {
        using var schema = LoadSchema();

        Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema.RootElement.GetProperty("$schema").GetString());
        Assert.Equal(ConfigKeys.Root.Order(StringComparer.Ordinal), PropertyNames(schema.RootElement));
    }

    [Fact]
    public void Schema_EverySection_MatchesBinderKeys()
    {
        using var schema = LoadSchema();
        var defs = schema.RootElement.GetProperty("$defs");

        foreach (var (section, keys) in ConfigKeys.Sections.Where(s => s.Key != "root"))
        {
            Assert.True(defs.TryGetProperty(section, out var definition), $"$defs/{section} is missing from the schema");
            Assert.Equal(keys.Order(StringComparer.Ordinal), PropertyNames(definition));
        }

        // ...and vice versa: every object definition with properties is a section the binder knows.
        foreach (var definition in defs.EnumerateObject().Where(d => d.Value.TryGetProperty("properties", out _)))
        {
            Assert.True(ConfigKeys.Sections.ContainsKey(definition.Name), $"$defs/{definition.Name} has no binder section");
        }
    }

    [Fact]
    public void Schema_EveryProperty_HasDescription()
    {
        using var schema = LoadSchema();
        var missing = new List<string>();
        Walk(schema.RootElement, "#", missing);

        Assert.Empty(missing);
    }

    private static void Walk(JsonElement element, string pointer, List<string> missing)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (element.TryGetProperty("properties", out var properties))
        {
            foreach (var property in properties.EnumerateObject())
            {
                if (!property.Value.TryGetProperty("description", out var description) || string.IsNullOrWhiteSpace(description.GetString()))
                {
                    missing.Add($"{pointer}/properties/{property.Name}");
                }
            }
        }

        foreach (var child in element.EnumerateObject())
        {
            Walk(child.Value, pointer + "/" + child.Name, missing);
        }
    }
}
