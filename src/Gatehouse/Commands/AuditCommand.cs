using System.CommandLine;
using Gatehouse.Cli.Audit;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse audit summarize FILE… [--html] [--txn ID]</c>: the human-readable story of an audit trail, or of one
/// transaction across the audit files of several processes.
/// </summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var command = new Command("audit", "Work with audit trails (JSON Lines written by the audit sink).");
        var files = new Argument<FileInfo[]>("files") { Description = "Audit files (audit.jsonl, rotated audit.jsonl.1, …).", Arity = ArgumentArity.OneOrMore };
        var html = new Option<bool>("--html") { Description = "Write one self-contained HTML page with charts instead of text." };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "Write to this file instead of standard output." };
        var txn = new Option<string?>("--txn") { Description = "Only this transaction (the audit txn field): its path through the mesh, hop by hop, across the files of several processes. Exit 1 when no record carries it." };
        var summarize = new Command("summarize", "Per service and caller: allowed and denied counts, top denial reasons, who was denied what and why.") { files, html, output, txn };
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
            var target = parse.GetValue(output);
            if (parse.GetValue(txn) is { } id)
            {
                if (id.Length == 0)
                {
                    Console.Error.WriteLine("error: --txn needs a transaction id");
                    return ExitCodes.Error;
                }

                var trail = TransactionTrail.FromFiles(paths.Select(f => f.FullName), id);
                using var trailWriter = target is null ? Console.Out : new StreamWriter(target.FullName);
                if (parse.GetValue(html))
                {
                    trail.RenderHtml(trailWriter);
                }
                else
                {
                    trail.RenderText(trailWriter);
                }

                trailWriter.Flush();
                return trail.Hops.Count > 0 ? ExitCodes.Ok : ExitCodes.Failure;
            }

            var summary = AuditSummary.FromFiles(paths.Select(f => f.FullName));
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
