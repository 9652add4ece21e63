using System.Text;
using Gatehouse.Configuration;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// The config loader (<see cref="ConfigLoader"/>) on arbitrary YAML. Invariants: never throws; a result is either a
/// valid config or a list of located errors (line and column ≥ 1, a config path, a message), never a config with
/// errors marked valid.
/// </summary>
internal sealed class ConfigTarget : FuzzTarget
{
    private static readonly Dictionary<string, string> NoEnvironment = [];
    private static readonly string BaseDirectory = Path.Combine(Path.GetTempPath(), "gatehouse-fuzz-config");

    public override string Name => "config";

    public override string Description => "config loader: never throws; every error located FILE:LINE:COL with a path";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var yaml = Encoding.UTF8.GetString(input);
        var result = ConfigLoader.LoadYaml(yaml, "fuzz.yaml", BaseDirectory, NoEnvironment);
        Check(result.IsValid == (result.Config is not null && result.Errors.Count == 0), "IsValid disagrees with config/errors");
        Check(result.Config is not null || result.Errors.Count > 0, "no config and no error");
        foreach (var error in result.Errors)
        {
            Check(error.Line >= 1 && error.Column >= 1, $"error without a location: {error}");
            Check(!string.IsNullOrEmpty(error.Path) && !string.IsNullOrEmpty(error.Message), $"error without path or message: {error}");
        }
    }
}
