namespace Gatehouse.Configuration;

/// <summary>
/// One problem found in a configuration, located at the YAML node that causes it. Rendered as
/// <c>FILE:LINE:COL: path.to.field: message</c>, the line format of <c>gatehouse check</c> (design.md contract).
/// </summary>
/// <param name="File">The source name (usually the config file path as given).</param>
/// <param name="Line">1-based line of the offending node (the key for unknown keys, the value for bad values).</param>
/// <param name="Column">1-based column of the offending node.</param>
/// <param name="Path">Config path such as <c>issuers.corp.audiences</c> or <c>routes[0].authentication.issuers[1]</c>.</param>
/// <param name="Message">What is wrong and, where possible, how to fix it.</param>
public sealed record ConfigError(string File, int Line, int Column, string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}:{Column}: {Path}: {Message}";
}

/// <summary>The outcome of loading a configuration: the bound model, every error, and every file it refers to.</summary>
/// <param name="Config">The bound model; <c>null</c> only when the YAML could not be parsed at all.
/// It may be non-null while <see cref="Errors"/> is not empty: use <see cref="IsValid"/> before running it.</param>
/// <param name="Errors">Every error found, ordered by position in the file.</param>
/// <param name="ReferencedFiles">Absolute paths of every file the config refers to (JWKS files, secrets,
/// certificates, trust bundles), readable or not, so a host can watch them for changes. The config file itself is not included.</param>
public sealed record ConfigLoadResult(GatehouseConfig? Config, IReadOnlyList<ConfigError> Errors, IReadOnlyList<string> ReferencedFiles)
{
    /// <summary>True when the config was bound and has no error: only then may it be run.</summary>
    public bool IsValid => Config is not null && Errors.Count == 0;

    /// <summary>Located findings that do not make the config invalid (e.g. an unprotected console); <c>check</c> prints them.</summary>
    public IReadOnlyList<ConfigError> Warnings { get; init; } = [];
}
