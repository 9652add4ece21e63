namespace Gatehouse.Configuration;

/// <summary>
/// Loads a Gatehouse YAML config (<c>version: 1</c>) into a <see cref="GatehouseConfig"/>, reporting every error
/// as a value (never an exception) in the <c>FILE:LINE:COL: path: message</c> format of <c>gatehouse check</c>.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Reads and loads a config file. Relative paths inside it resolve against its directory.</summary>
    /// <param name="path">The config file; also the source name in errors, as given.</param>
    /// <param name="environment"><c>GATEHOUSE_*</c> overrides to apply; <c>null</c> reads the process environment,
    /// an empty dictionary applies none.</param>
    public static ConfigLoadResult LoadFile(string path, IReadOnlyDictionary<string, string>? environment = null)
    {
        string fullPath, text;
        try
        {
            fullPath = Path.GetFullPath(path);
            text = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new ConfigLoadResult(null, [new ConfigError(path, 1, 1, "<file>", $"cannot read config file: {ex.Message}")], []);
        }

        var result = LoadYaml(text, path, Path.GetDirectoryName(fullPath) ?? Directory.GetCurrentDirectory(), environment);
        return result.Config is null ? result : result with { Config = result.Config with { SourcePath = fullPath } };
    }

    /// <summary>Loads config text.</summary>
    /// <param name="yaml">The YAML text.</param>
    /// <param name="sourceName">The name errors are reported under (usually the file path).</param>
    /// <param name="baseDirectory">Directory relative file paths in the config resolve against.</param>
    /// <param name="environment"><c>GATEHOUSE_*</c> overrides to apply; <c>null</c> reads the process environment,
    /// an empty dictionary applies none.</param>
    public static ConfigLoadResult LoadYaml(string yaml, string sourceName, string baseDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var binder = new ConfigBinder(sourceName, Path.GetFullPath(baseDirectory));
        var rawErrors = new List<YamlTreeReader.RawError>();
        var root = YamlTreeReader.Read(yaml, rawErrors);
        foreach (var error in rawErrors)
        {
            binder.Error(error.Line, error.Column, "<yaml>", error.Message);
        }

        GatehouseConfig? config = null;
        if (root is null && rawErrors.Count == 0)
        {
            binder.Error(1, 1, "<root>", "the config is empty; it needs at least 'version: 1'");
        }
        else if (root is not null)
        {
            if (root is YMapping mapping)
            {
                EnvironmentOverrides.Apply(mapping, environment ?? EnvironmentOverrides.ProcessEnvironment(), binder);
            }

            config = binder.Bind(root);
        }

        // Note: errors are found section by section; sorting by position reads like a compiler's output.
        var errors = binder.Errors
            .Select((error, order) => (error, order))
            .OrderBy(e => e.error.Line).ThenBy(e => e.error.Column).ThenBy(e => e.order)
            .Select(e => e.error)
            .ToList();
        return new ConfigLoadResult(config, errors, binder.ReferencedFiles) { Warnings = binder.Warnings };
    }
}
