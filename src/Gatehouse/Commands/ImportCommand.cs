using System.CommandLine;
using Gatehouse.Cli.Import.Istio;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse import istio FILE…</c>: converts Istio <c>RequestAuthentication</c> and <c>AuthorizationPolicy</c>
/// manifests into Gatehouse config (issuers + policies) on standard output, with a warning on standard error for
/// every field that cannot be carried over.
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var command = new Command("import", "Convert other systems' policies into Gatehouse config.");
        var files = new Argument<FileInfo[]>("files") { Description = "Istio manifests (YAML, multi-document).", Arity = ArgumentArity.OneOrMore };
        var istio = new Command("istio", "Convert security.istio.io RequestAuthentication and AuthorizationPolicy manifests.") { files };
        istio.SetAction(parse =>
        {
            var manifests = new List<(string, string)>();
            foreach (var file in parse.GetValue(files)!)
            {
                if (!file.Exists)
                {
                    Console.Error.WriteLine($"error: {file}: no such file");
                    return ExitCodes.Error;
                }
                manifests.Add((file.FullName, File.ReadAllText(file.FullName)));
            }
            var result = IstioImporter.Import(manifests);
            Console.Out.Write(result.Yaml);
            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine($"warning: {warning}");
            }
            return ExitCodes.Ok;
        });
        command.Subcommands.Add(istio);
        return command;
    }
}
