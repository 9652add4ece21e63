using System.Globalization;

namespace Gatehouse.Configuration;

/// <summary>
/// Binds a <see cref="YNode"/> tree to <see cref="GatehouseConfig"/> by hand (no reflection: the Core is AOT
/// compatible) and validates it, collecting every error instead of stopping at the first.
/// </summary>
/// <remarks>
/// Binding is permissive: a bad value is reported and replaced by the default, so the rest of the file is still
/// checked and one run of <c>gatehouse check</c> lists every problem. Cross-references (route → issuer, route →
/// policy, listener → route) are checked after the whole file is bound, so the order of sections does not matter.
/// </remarks>
internal sealed partial class ConfigBinder
{
    private readonly string _source;
    private readonly string _baseDirectory;
    private readonly List<ConfigError> _errors = [];
    private readonly List<string> _referencedFiles = [];
    private readonly HashSet<string> _referencedSet = new(StringComparer.Ordinal);
    private readonly List<Action> _deferred = [];

    public ConfigBinder(string source, string baseDirectory)
    {
        _source = source;
        _baseDirectory = baseDirectory;
    }

    public List<ConfigError> Errors => _errors;

    public IReadOnlyList<string> ReferencedFiles => _referencedFiles;

    public void Error(int line, int column, string path, string message) =>
        // An error on the document itself (an empty key at the top level, say) is located at "<root>", never at an
        // empty path, so every line of `check` has the FILE:LINE:COL: path: message shape.
        _errors.Add(new ConfigError(_source, line, column, path.Length == 0 ? "<root>" : path, message));

    public void Error(YNode node, string path, string message)
    {
        if (node.OverriddenBy is { } variable)
        {
            message += $" (value from environment variable {variable})";
        }

        Error(node.Line, node.Column, path, message);
    }

    // ---- structure helpers -------------------------------------------------------------------------------------

    private static string Child(string path, string key)
    {
        // Note: keys that would make the path ambiguous (dots, spaces) are quoted: when["claims.realm_access.roles"].
        var simple = key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
        var segment = simple ? key : "[\"" + key + "\"]";
        return path.Length == 0 ? segment : simple ? path + "." + segment : path + segment;
    }

    private static string Index(string path, int index) => path + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

    /// <summary>A mapping, or null (no error) for an empty value, or null with an error for a scalar/list.</summary>
    private YMapping? AsMapping(YNode node, string path)
    {
        switch (node)
        {
            case YMapping mapping:
                return mapping;
            case YScalar { IsNull: true }:
                return null;
            default:
                Error(node, path, $"expected a mapping, got {node.KindName}");
                return null;
        }
    }

    private YSequence? AsSequence(YNode node, string path)
    {
        switch (node)
        {
            case YSequence sequence:
                return sequence;
            case YScalar { IsNull: true }:
                return null;
            default:
                Error(node, path, $"expected a list, got {node.KindName}");
                return null;
        }
    }

    /// <summary>Entries of a fixed-shape mapping: unknown keys (with a suggestion) and duplicates are reported and skipped.</summary>
    private List<(string Key, YNode Value, string Path)> Entries(YMapping mapping, string path, string[] known)
    {
        var result = new List<(string, YNode, string)>(mapping.Entries.Count);
        foreach (var (key, value, childPath) in MapEntries(mapping, path))
        {
            if (Array.IndexOf(known, key.Value) < 0)
            {
                var suggestion = ConfigKeys.Closest(key.Value, known);
                Error(key, childPath, suggestion is null
                    ? $"unknown key '{key.Value}'; expected one of: {string.Join(", ", known)}"
                    : $"unknown key '{key.Value}'; did you mean '{suggestion}'?");
                continue;
            }

            result.Add((key.Value, value, childPath));
        }

        return result;
    }

    /// <summary>Entries of a free-form map (issuers, policies, trust bundles): duplicates are reported and skipped.</summary>
    private List<(YScalar Key, YNode Value, string Path)> MapEntries(YMapping mapping, string path)
    {
        var seen = new Dictionary<string, YScalar>(StringComparer.Ordinal);
        var result = new List<(YScalar, YNode, string)>(mapping.Entries.Count);
        foreach (var (key, value) in mapping.Entries)
        {
            var childPath = Child(path, key.Value);
            if (seen.TryGetValue(key.Value, out var first))
            {
                // Note: YAML 1.2 §3.2.1.1 requires unique keys, but most parsers silently keep the last one; a
                // duplicated security setting must never silently win or lose.
                Error(key, childPath, $"duplicate key '{key.Value}' (first defined at line {first.Line}, column {first.Column})");
                continue;
            }

            seen.Add(key.Value, key);
            if (key.IsNull)
            {
                Error(key, path, "empty key");
                continue;
            }

            result.Add((key, value, childPath));
        }

        return result;
    }

    private string? String(YNode node, string path)
    {
        switch (node)
        {
            case YScalar { IsNull: true }:
                return null;
            case YScalar scalar:
                return scalar.Value;
            default:
                Error(node, path, $"expected a string, got {node.KindName}");
                return null;
        }
    }

    /// <summary>A string that must be present and non-empty when the key is written.</summary>
    private string? NonEmptyString(YNode node, string path)
    {
        var value = String(node, path);
        if (value is null && node is YScalar)
        {
            Error(node, path, "must not be empty");
        }
        else if (value is not null && value.Trim().Length == 0)
        {
            Error(node, path, "must not be blank");
            return null;
        }

        return value;
    }

    private bool? Bool(YNode node, string path)
    {
        if (node is YScalar { IsPlain: true } scalar)
        {
            switch (scalar.Value)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }

        Error(node, path, $"expected true or false, got {Describe(node)}");
        return null;
    }

    private long? Integer(YNode node, string path, long min, long max)
    {
        if (node is YScalar { IsPlain: true } scalar && long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            if (value < min || value > max)
            {
                Error(node, path, $"must be between {min} and {max}, got {value}");
                return null;
            }

            return value;
        }

        Error(node, path, $"expected an integer, got {Describe(node)}");
        return null;
    }

    private long? Size(YNode node, string path, long min, long max)
    {
        if (node is YScalar { IsNull: false } scalar && ConfigValues.TryParseSize(scalar.Value, out var value))
        {
            if (value < min || value > max)
            {
                Error(node, path, $"must be between {min} and {max} bytes, got {value}");
                return null;
            }

            return value;
        }

        Error(node, path, $"expected a size in bytes (e.g. 16384, 16KiB, 10MiB), got {Describe(node)}");
        return null;
    }

    private TimeSpan? Duration(YNode node, string path, bool allowZero = false)
    {
        if (node is YScalar { IsNull: false } scalar && ConfigValues.TryParseDuration(scalar.Value, out var value))
        {
            if (value == TimeSpan.Zero && !allowZero)
            {
                Error(node, path, "must be greater than zero");
                return null;
            }

            return value;
        }

        Error(node, path, $"expected a duration (e.g. 500ms, 30s, 5m, 1h, 1d, or an integer of seconds), got {Describe(node)}");
        return null;
    }

    /// <summary>A duration within [<paramref name="min"/>, <paramref name="max"/>], both inclusive.</summary>
    private TimeSpan? Duration(YNode node, string path, TimeSpan min, TimeSpan max)
    {
        if (Duration(node, path, allowZero: min == TimeSpan.Zero) is not { } value)
        {
            return null;
        }

        if (value < min || value > max)
        {
            Error(node, path, $"must be between {ConfigValues.FormatDuration(min)} and {ConfigValues.FormatDuration(max)}, got {ConfigValues.FormatDuration(value)}");
            return null;
        }

        return value;
    }

    /// <summary>A ratio in (0, 1], written as a decimal (<c>0.5</c>).</summary>
    private double? Ratio(YNode node, string path)
    {
        if (node is YScalar { IsPlain: true } scalar
            && double.TryParse(scalar.Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            if (!double.IsFinite(value) || value is <= 0 or > 1)
            {
                Error(node, path, $"must be greater than 0 and at most 1, got {scalar.Value}");
                return null;
            }

            return value;
        }

        Error(node, path, $"expected a ratio between 0 and 1 (e.g. 0.5), got {Describe(node)}");
        return null;
    }

    /// <summary>A list of non-empty strings; each bad item is reported with its index.</summary>
    private List<(string Value, YNode Node, string Path)> StringItems(YNode node, string path)
    {
        var result = new List<(string, YNode, string)>();
        if (AsSequence(node, path) is not { } sequence)
        {
            return result;
        }

        for (var i = 0; i < sequence.Items.Count; i++)
        {
            var itemPath = Index(path, i);
            if (NonEmptyString(sequence.Items[i], itemPath) is { } value)
            {
                result.Add((value, sequence.Items[i], itemPath));
            }
        }

        return result;
    }

    private List<string> StringList(YNode node, string path) => StringItems(node, path).ConvertAll(item => item.Value);

    /// <summary>One of a fixed set of words, compared exactly (the docs spell them in lower case).</summary>
    private string? OneOf(YNode node, string path, string[] allowed, string what)
    {
        var value = String(node, path);
        if (value is null)
        {
            Error(node, path, $"expected a {what}: {string.Join(", ", allowed)}");
            return null;
        }

        if (Array.IndexOf(allowed, value) >= 0)
        {
            return value;
        }

        var suggestion = ConfigKeys.Closest(value, allowed);
        Error(node, path, $"unknown {what} '{value}'; expected one of: {string.Join(", ", allowed)}"
            + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)"));
        return null;
    }

    /// <summary>
    /// A referenced file: resolved against the config file's directory, recorded for watching, and checked for
    /// readability now so a typo fails <c>check</c> rather than the first request.
    /// </summary>
    private string? FilePath(YNode node, string path)
    {
        var value = NonEmptyString(node, path);
        if (value is null)
        {
            return null;
        }

        string full;
        try
        {
            full = Path.GetFullPath(value, _baseDirectory);
        }
        catch (ArgumentException)
        {
            Error(node, path, $"'{value}' is not a valid file path");
            return null;
        }

        if (_referencedSet.Add(full))
        {
            _referencedFiles.Add(full);
        }

        if (Directory.Exists(full))
        {
            Error(node, path, $"'{full}' is a directory, not a file");
        }
        else if (!File.Exists(full))
        {
            Error(node, path, $"file not found: '{full}'");
        }
        else
        {
            try
            {
                using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Error(node, path, $"cannot read file '{full}': {ex.Message}");
            }
        }

        return full;
    }

    private string? Url(YNode node, string path, bool httpsUnlessLoopback)
    {
        var value = NonEmptyString(node, path);
        if (value is null)
        {
            return null;
        }

        if (ConfigValues.ValidateUrl(value, httpsUnlessLoopback) is { } problem)
        {
            Error(node, path, problem);
        }

        return value;
    }

    private void Missing(YNode parent, string path, string key, string? hint = null) =>
        Error(parent, Child(path, key), $"required field '{key}' is missing" + (hint is null ? "" : "; " + hint));

    private static string Describe(YNode node) => node switch
    {
        YScalar { IsNull: true } => "an empty value",
        YScalar scalar => $"'{scalar.Value}'",
        _ => node.KindName,
    };
}
