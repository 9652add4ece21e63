using System.CommandLine;
using Gatehouse.Cli.Audit;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse audit summarize FILE… [--html]</c>: the human-readable story of an audit trail.</summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var command = new Command("audit", "Work with audit trails (JSON Lines written by the audit sink).");
        var files = new Argument<FileInfo[]>("files") { Description = "Audit files (audit.jsonl, rotated audit.jsonl.1, …).", Arity = ArgumentArity.OneOrMore };
        var html = new Option<bool>("--html") { Description = "Write one self-contained HTML page with charts instead of text." };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write to this file instead of standard output." };
        var summarize = new Command("summarize", "Per service and caller: allowed and denied counts, top denial reasons, who was denied what and why.") { files, html, output };
        summarize.SetAction(parse =>
        {
            var paths = parse.GetValue(files)!;
            var missing = paths.Where(f => !f.Exists).ToList();
            if (missing.Count > 0)
            {
                foreach (var file in missing)
                {
                    Console.Error.WriteLine($"error: {file}: no such file");
                }
                return ExitCodes.Error;
            }
            var summary = AuditSummary.FromFiles(paths.Select(f => f.FullName));
            var target = parse.GetValue(output);
            using var writer = target is null ? Console.Out : new StreamWriter(target.FullName);
            if (parse.GetValue(html))
            {
                summary.RenderHtml(writer);
            }
            else
            {
                summary.RenderText(writer);
            }
            writer.Flush();
            return ExitCodes.Ok;
        });
        command.Subcommands.Add(summarize);
        return command;
    }
}
