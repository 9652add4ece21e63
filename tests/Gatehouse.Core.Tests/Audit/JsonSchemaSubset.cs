using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gatehouse.Tests.Audit;

/// <summary>
/// A validator for the subset of JSON Schema (2020-12) that schema/audit-record.schema.json uses. It refuses a
/// schema that uses any other keyword, so the schema cannot grow a rule this validator would silently ignore.
/// </summary>
internal static class JsonSchemaSubset
{
    private static readonly HashSet<string> s_annotations = ["$schema", "$id", "title", "description", "$comment"];

    private static readonly HashSet<string> s_supported =
    [
        "type", "required", "properties", "additionalProperties", "items", "enum", "const", "minimum", "maximum",
        "minLength", "maxLength", "pattern", "format",
    ];

    public static List<string> Validate(JsonElement schema, JsonElement instance)
    {
        var errors = new List<string>();
        Validate(schema, instance, "$", errors);
        return errors;
    }

    private static void Validate(JsonElement schema, JsonElement value, string at, List<string> errors)
    {
        foreach (var keyword in schema.EnumerateObject())
        {
            if (!s_annotations.Contains(keyword.Name) && !s_supported.Contains(keyword.Name))
            {
                throw new NotSupportedException($"schema keyword '{keyword.Name}' at {at} is not supported by the test validator");
            }
        }

        if (schema.TryGetProperty("type", out var type) && !TypeMatches(type, value))
        {
            errors.Add($"{at}: expected {type}, got {value.ValueKind}");
            return;
        }

        if (schema.TryGetProperty("const", out var constant) && !JsonElement.DeepEquals(constant, value))
        {
            errors.Add($"{at}: expected {constant}");
        }

        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonElement.DeepEquals(v, value)))
        {
            errors.Add($"{at}: {value} not in {values}");
        }

        if (value.ValueKind == JsonValueKind.Number)
        {
            var number = value.GetDouble();
            if (schema.TryGetProperty("minimum", out var min) && number < min.GetDouble())
            {
                errors.Add($"{at}: {number} < {min}");
            }

            if (schema.TryGetProperty("maximum", out var max) && number > max.GetDouble())
            {
                errors.Add($"{at}: {number} > {max}");
            }
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString()!;
            if (schema.TryGetProperty("minLength", out var minLength) && text.Length < minLength.GetInt32())
            {
                errors.Add($"{at}: shorter than {minLength}");
            }

            if (schema.TryGetProperty("maxLength", out var maxLength) && text.Length > maxLength.GetInt32())
            {
                errors.Add($"{at}: longer than {maxLength}");
            }

            if (schema.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(text, pattern.GetString()!))
            {
                errors.Add($"{at}: '{text}' does not match {pattern}");
            }

            if (schema.TryGetProperty("format", out var format))
            {
                if (format.GetString() != "date-time")
                {
                    throw new NotSupportedException($"format '{format}' is not supported by the test validator");
                }

                // RFC 3339 date-time.
                if (!Regex.IsMatch(text, @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
                    || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
                {
                    errors.Add($"{at}: '{text}' is not an RFC 3339 date-time");
                }
            }
        }

        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                Validate(items, item, $"{at}[{i++}]", errors);
            }
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray())
                {
                    if (!value.TryGetProperty(name.GetString()!, out _))
                    {
                        errors.Add($"{at}: missing required '{name}'");
                    }
                }
            }

            schema.TryGetProperty("properties", out var properties);
            var closed = schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.False;
            foreach (var property in value.EnumerateObject())
            {
                if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var propertySchema))
                {
                    Validate(propertySchema, property.Value, $"{at}.{property.Name}", errors);
                }
                else if (closed)
                {
                    errors.Add($"{at}: unexpected property '{property.Name}'");
                }
            }
        }
    }

    private static bool TypeMatches(JsonElement type, JsonElement value)
    {
        if (type.ValueKind == JsonValueKind.Array)
        {
            return type.EnumerateArray().Any(t => TypeMatches(t, value));
        }

        return type.GetString() switch
        {
            "object" => value.ValueKind == JsonValueKind.Object,
            "array" => value.ValueKind == JsonValueKind.Array,
            "string" => value.ValueKind == JsonValueKind.String,
            "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
            "null" => value.ValueKind == JsonValueKind.Null,
            "number" => value.ValueKind == JsonValueKind.Number,
            "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
            var other => throw new NotSupportedException($"type '{other}'"),
        };
    }
}
