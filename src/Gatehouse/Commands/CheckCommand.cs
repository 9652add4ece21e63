using System.CommandLine;
using Gatehouse.Configuration;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse check -c FILE</c>: every error as <c>FILE:LINE:COL: path: message</c>; exit 0 valid, 1 invalid.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The YAML config file.", Required = true };
        var command = new Command("check", "Validate a config file and print every error.") { config };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(config)!;
            var result = ConfigLoader.LoadFile(file.FullName, CommandEnvironment.Variables());
            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine($"{warning.File}:{warning.Line}:{warning.Column}: {warning.Path}: warning: {warning.Message}");
            }

            if (result.IsValid)
            {
                Console.Out.WriteLine($"{file}: ok ({result.Config!.Issuers.Count} issuer(s), {result.Config.Listeners.Count} listener(s), {result.Config.Routes.Count} route(s), {result.Config.Policies.Count} polic{(result.Config.Policies.Count == 1 ? "y" : "ies")})");
                return ExitCodes.Ok;
            }
            PrintErrors(result);
            return ExitCodes.Failure;
        });
        return command;
    }

    public static void PrintErrors(ConfigLoadResult result)
    {
        foreach (var error in result.Errors)
        {
            Console.Error.WriteLine(error.ToString());
        }
    }
}

/// <summary>The process environment as a dictionary, for <c>GATEHOUSE_</c> overrides.</summary>
internal static class CommandEnvironment
{
    public static IReadOnlyDictionary<string, string> Variables()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && key.StartsWith("GATEHOUSE_", StringComparison.Ordinal) && entry.Value is string value)
            {
                result[key] = value;
            }
        }
        return result;
    }
}
