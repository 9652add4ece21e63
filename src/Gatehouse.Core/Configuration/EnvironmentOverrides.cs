using System.Collections;
using System.Globalization;

namespace Gatehouse.Configuration;

/// <summary>
/// Applies <c>GATEHOUSE_&lt;PATH&gt;</c> environment variables to the YAML tree before binding, so overridden values
/// are validated exactly like written ones and their errors point at the node they replace.
/// </summary>
/// <remarks>
/// PATH segments are separated by <c>__</c> and matched case-insensitively against mapping keys or list indices:
/// <c>GATEHOUSE_LISTENERS__0__ADDRESS=127.0.0.1:9000</c>. A variable replaces a scalar, or adds a missing key
/// (lower-cased) to an existing mapping; it never replaces a whole list or mapping. Variables whose first segment is
/// not a top-level config section (e.g. <c>GATEHOUSE_LOG_LEVEL</c>) are not overrides and are ignored here.
/// </remarks>
internal static class EnvironmentOverrides
{
    public const string Prefix = "GATEHOUSE_";

    public static IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value && key.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                result[key] = value;
            }
        }

        return result;
    }

    public static void Apply(YMapping root, IReadOnlyDictionary<string, string> environment, ConfigBinder errors)
    {
        // Note: ordinal order makes the outcome independent of the dictionary's enumeration order.
        foreach (var (name, value) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var segments = name[Prefix.Length..].Split("__");
            if (!ConfigKeys.Root.Contains(segments[0], StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            Apply(root, segments, name, value, errors);
        }
    }

    private static void Apply(YMapping root, string[] segments, string variable, string value, ConfigBinder errors)
    {
        YNode current = root;
        var path = "";
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var last = i == segments.Length - 1;
            switch (current)
            {
                case YMapping mapping:
                    {
                        var index = mapping.Entries.FindIndex(e => string.Equals(e.Key.Value, segment, StringComparison.OrdinalIgnoreCase));
                        var key = index >= 0 ? mapping.Entries[index].Key.Value : segment.ToLowerInvariant();
                        path = path.Length == 0 ? key : path + "." + key;
                        if (index < 0)
                        {
                            YNode created = last
                                ? Scalar(value, mapping, variable)
                                : new YMapping { Line = mapping.Line, Column = mapping.Column, OverriddenBy = variable };
                            mapping.Entries.Add(new(new YScalar { Value = key, Line = mapping.Line, Column = mapping.Column, OverriddenBy = variable }, created));
                            current = created;
                            continue;
                        }

                        var child = mapping.Entries[index].Value;
                        if (last || child is YScalar { IsNull: true })
                        {
                            if (!Replace(child, value, variable, path, last, errors, out var replacement))
                            {
                                return;
                            }

                            mapping.Entries[index] = new(mapping.Entries[index].Key, replacement);
                            current = replacement;
                        }
                        else
                        {
                            current = child;
                        }

                        break;
                    }

                case YSequence sequence:
                    {
                        path += "[" + segment + "]";
                        if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= sequence.Items.Count)
                        {
                            errors.Error(sequence, path,
                                $"environment variable {variable} refers to item {segment}, but the list has {sequence.Items.Count} item(s)");
                            return;
                        }

                        var child = sequence.Items[index];
                        if (last || child is YScalar { IsNull: true })
                        {
                            if (!Replace(child, value, variable, path, last, errors, out var replacement))
                            {
                                return;
                            }

                            sequence.Items[index] = replacement;
                            current = replacement;
                        }
                        else
                        {
                            current = child;
                        }

                        break;
                    }

                default:
                    errors.Error(current, path, $"environment variable {variable} goes below '{path}', which is a single value");
                    return;
            }
        }
    }

    private static bool Replace(YNode existing, string value, string variable, string path, bool last, ConfigBinder errors, out YNode replacement)
    {
        if (!last)
        {
            // An empty value (e.g. 'audit:') gains the fields the variable sets.
            replacement = new YMapping { Line = existing.Line, Column = existing.Column, OverriddenBy = variable };
            return true;
        }

        if (existing is not YScalar)
        {
            errors.Error(existing, path, $"environment variable {variable} cannot replace {existing.KindName}; override its items one by one");
            replacement = existing;
            return false;
        }

        replacement = Scalar(value, existing, variable);
        return true;
    }

    // Note: the value is resolved like an unquoted YAML scalar, so 'true', '30s' and '8080' keep their types.
    private static YScalar Scalar(string value, YNode position, string variable) =>
        new() { Value = value, IsPlain = true, Line = position.Line, Column = position.Column, OverriddenBy = variable };
}
