using System.CommandLine;
using Gatehouse.Cli.Import.Istio;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse import istio FILE… [--out FILE] [--trust-domain TD] [--trust-domain-alias TD]…</c>: converts Istio
/// <c>RequestAuthentication</c> and <c>AuthorizationPolicy</c> manifests into a Gatehouse config (issuers + policies),
/// never widening access; a warning on standard error for every field that could not be carried over exactly.
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var command = new Command("import", "Convert other systems' policies into Gatehouse config.");
        var files = new Argument<FileInfo[]>("files") { Description = "Istio manifests (YAML, multi-document).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo?>("--out", "-o")
        {
            Description = "Write the config to this file (and inline JWKS files next to it) instead of standard output (JWKS files then go to the current directory).",
        };
        var trustDomain = new Option<string>("--trust-domain")
        {
            Description = "The mesh's trust domain (Istio meshConfig.trustDomain): service accounts and cluster.local principals become SPIFFE IDs in it.",
            DefaultValueFactory = _ => "cluster.local",
        };
        var aliases = new Option<string[]>("--trust-domain-alias")
        {
            Description = "A trust domain alias (Istio meshConfig.trustDomainAliases); repeat for several.",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var istio = new Command("istio", "Convert security.istio.io RequestAuthentication and AuthorizationPolicy manifests.") { files, output, trustDomain, aliases };
        istio.SetAction(parse =>
        {
            var options = new IstioImportOptions
            {
                TrustDomain = parse.GetValue(trustDomain) ?? "cluster.local",
                TrustDomainAliases = parse.GetValue(aliases) ?? [],
            };
            foreach (var td in new[] { options.TrustDomain }.Concat(options.TrustDomainAliases))
            {
                if (!SpiffeId.IsValidTrustDomain(td))
                {
                    Console.Error.WriteLine($"error: '{td}' is not a SPIFFE trust domain (lower-case letters, digits, '.', '-', '_')");
                    return ExitCodes.Error;
                }
            }

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

            var result = IstioImporter.Import(manifests, options);
            var target = parse.GetValue(output);
            var directory = target?.Directory?.FullName ?? Directory.GetCurrentDirectory();
            foreach (var extra in result.Files)
            {
                var path = Path.Combine(directory, extra.Name);
                File.WriteAllText(path, extra.Content);
                Console.Error.WriteLine($"wrote {path}");
            }

            if (target is null)
            {
                Console.Out.Write(result.Yaml);
            }
            else
            {
                File.WriteAllText(target.FullName, result.Yaml);
                Console.Error.WriteLine($"wrote {target.FullName}");
            }

            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine($"warning: {warning}");
            }

            foreach (var edit in result.RequiredEdits)
            {
                Console.Error.WriteLine($"to do before `gatehouse check` passes: {edit}");
            }
            return ExitCodes.Ok;
        });
        command.Subcommands.Add(istio);
        return command;
    }
}
