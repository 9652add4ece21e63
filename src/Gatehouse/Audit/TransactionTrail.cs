using System.Globalization;
using System.Net;
using System.Text.Json;
using Gatehouse.Audit;

namespace Gatehouse.Cli.Audit;

/// <summary>
/// One transaction's path through the mesh (<c>gatehouse audit summarize FILE… --txn ID [--html]</c>): the records of
/// every hop that carried the transaction id (the audit <c>txn</c> field; draft-ietf-oauth-transaction-tokens-10
/// <c>txn</c>), read from the audit files of several processes, in time order — which workload called which, with
/// which scopes, where it was allowed or denied and why.
/// </summary>
/// <remarks>
/// A hop is named by the file it was read from (one file per process: <c>orders-sidecar.jsonl</c>) and the listener.
/// The caller is the peer's workload identity (mTLS), else the client id, else the source address. Records whose
/// <c>txn</c> came from a refused Txn-Token (<c>txn_unverified</c>) are shown and marked: they are what a caller
/// claimed, which is part of the story (a replay, a forgery) but not a fact about the transaction. Lines that are not
/// audit records, and records of a newer schema version, are skipped as in <see cref="AuditSummary"/>.
/// </remarks>
public sealed class TransactionTrail
{
    private readonly List<TransactionHop> _hops = [];
    private readonly List<string> _sources = [];

    private TransactionTrail(string transactionId) => TransactionId = transactionId;

    /// <summary>The transaction id the trail was built for.</summary>
    public string TransactionId { get; }

    /// <summary>The hops, in time order (ties: file order, then line order).</summary>
    public IReadOnlyList<TransactionHop> Hops => _hops;

    /// <summary>The files read.</summary>
    public IReadOnlyList<string> Sources => _sources;

    /// <summary>Lines skipped (not audit records, or a newer schema version).</summary>
    public long SkippedLines { get; private set; }

    /// <summary>Records the writers dropped (sum of <c>dropped_before</c> over every file): the trail may be incomplete.</summary>
    public long DroppedRecords { get; private set; }

    /// <summary>Builds the trail of <paramref name="transactionId"/> from JSON Lines audit files.</summary>
    public static TransactionTrail FromFiles(IEnumerable<string> paths, string transactionId)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(transactionId);
        var trail = new TransactionTrail(transactionId);
        var order = 0;
        foreach (var path in paths)
        {
            trail._sources.Add(path);
            using var reader = new StreamReader(path, new FileStreamOptions { Share = FileShare.ReadWrite | FileShare.Delete });
            while (reader.ReadLine() is { } line)
            {
                if (!string.IsNullOrWhiteSpace(line))
                {
                    trail.AddLine(line, path, order++);
                }
            }
        }

        // Note: a record is written when its hop finished (time) and says how long the hop took (latency_ms, the
        // upstream included), so a caller's record comes after its callee's. Hops are ordered by arrival, time − latency,
        // which is the call order of a chain. A stable sort: equal instants keep the order of the files as given.
        var sorted = trail._hops.OrderBy(h => h.Arrived ?? DateTimeOffset.MaxValue).ThenBy(h => h.Order).ToList();
        trail._hops.Clear();
        trail._hops.AddRange(sorted);
        return trail;
    }

    private void AddLine(string line, string source, int order)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            SkippedLines++;
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || String(root, "decision") is not { } decision
                || (root.TryGetProperty("schema_version", out var version) && (!version.TryGetInt32(out var v) || v > AuditRecord.CurrentSchemaVersion)))
            {
                SkippedLines++;
                return;
            }

            if (root.TryGetProperty("dropped_before", out var dropped) && dropped.TryGetInt64(out var count) && count > 0)
            {
                DroppedRecords += count;
            }

            if (!string.Equals(String(root, "txn"), TransactionId, StringComparison.Ordinal))
            {
                return;
            }

            _hops.Add(new TransactionHop
            {
                Order = order,
                Source = Path.GetFileName(source),
                Time = String(root, "time") is { } t && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null,
                LatencyMs = root.TryGetProperty("latency_ms", out var latency) && latency.TryGetDouble(out var ms) && ms is >= 0 and < 86_400_000 ? ms : 0,
                Listener = String(root, "listener"),
                Route = String(root, "route"),
                Method = String(root, "method") ?? "",
                Host = String(root, "host") ?? "",
                Path = String(root, "path") ?? "",
                Workload = String(root, "workload"),
                ClientId = String(root, "client_id"),
                SourceAddress = String(root, "source_address"),
                Subject = String(root, "subject"),
                Scopes = Strings(root, "scopes"),
                RequestingWorkloads = Strings(root, "req_wl"),
                StartedAtRoute = String(root, "txn_route"),
                Decision = decision,
                Status = root.TryGetProperty("status", out var status) && status.TryGetInt32(out var s) ? s : 0,
                Reasons = Strings(root, "reasons"),
                Policy = String(root, "policy"),
                Unverified = root.TryGetProperty("txn_unverified", out var unverified) && unverified.ValueKind == JsonValueKind.True,
            });
        }
    }

    /// <summary>Writes the trail as plain text: one block per hop.</summary>
    public void RenderText(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine($"Transaction {Clean(TransactionId)}");
        writer.WriteLine($"  files:   {Clean(string.Join(", ", _sources.Select(Path.GetFileName)))}");
        if (_hops.Count == 0)
        {
            writer.WriteLine("  no record carries this transaction id");
            return;
        }

        var first = _hops[0];
        var allowed = _hops.Count(h => h.Allowed);
        writer.WriteLine($"  subject: {Clean(Subject ?? "-")}   started at route: {Clean(StartedAtRoute ?? first.Route ?? "-")}");
        writer.WriteLine($"  period:  {FormatTime(first.Arrived)} .. {FormatTime(_hops.Max(h => h.Time))}");
        writer.WriteLine($"  hops:    {_hops.Count} ({allowed} allowed, {_hops.Count - allowed} denied)");
        if (DroppedRecords > 0)
        {
            writer.WriteLine($"  WARNING: {DroppedRecords} records were dropped by the writers (audit queue full); the trail may be incomplete");
        }

        writer.WriteLine();
        for (var i = 0; i < _hops.Count; i++)
        {
            var hop = _hops[i];
            writer.WriteLine($"  {i + 1,2}. {FormatTime(hop.Arrived)}  {Clean(hop.Caller)} -> {Clean(hop.Callee)}   ({hop.LatencyMs.ToString("0.###", CultureInfo.InvariantCulture)} ms)");
            writer.WriteLine($"      {Clean(hop.Method)} {Clean(hop.Host)}{Clean(hop.Path)}   route {Clean(hop.Route ?? "-")}   scopes [{Clean(string.Join(' ', hop.Scopes))}]");
            var why = hop.Reasons.Count > 0 ? string.Join(", ", hop.Reasons) : "-";
            writer.WriteLine($"      {(hop.Allowed ? "ALLOWED" : "DENIED")} {hop.Status} ({Clean(why)}){(hop.Policy is null ? "" : " by " + Clean(hop.Policy))}"
                + (hop.Unverified ? "   [Txn-Token refused here: txn as claimed, not verified]" : ""));
            if (hop.RequestingWorkloads.Count > 0)
            {
                writer.WriteLine($"      req_wl {Clean(string.Join(" > ", hop.RequestingWorkloads))}");
            }
        }
    }

    /// <summary>Writes the trail as one self-contained HTML page (no scripts, no external assets; every value escaped).</summary>
    public void RenderHtml(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Gatehouse transaction trail</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2430; max-width: 80rem; }
            h1 { font-size: 1.5rem; } table { border-collapse: collapse; font-size: .9rem; margin-top: 1rem; }
            th, td { padding: .3rem .6rem; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
            .allow { color: #2da44e; font-weight: 600; } .deny { color: #cf222e; font-weight: 600; }
            .warn { background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .8rem; } code { font-size: .85rem; }
            ol.chain { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
            ol.chain li { border: 1px solid #d0d7de; border-radius: 6px; padding: .3rem .6rem; }
            ol.chain li.deny { border-color: #cf222e; } ol.chain li.allow { border-color: #2da44e; }
            </style>
            </head>
            <body>

            """);
        writer.WriteLine($"<h1>Transaction <code>{Encode(TransactionId)}</code></h1>");
        writer.WriteLine($"<p>Files: {Encode(string.Join(", ", _sources.Select(Path.GetFileName)))}</p>");
        if (_hops.Count == 0)
        {
            writer.WriteLine("<p>No record carries this transaction id.</p></body></html>");
            return;
        }

        writer.WriteLine($"<p>Subject: <code>{Encode(Subject ?? "-")}</code> · started at route <code>{Encode(StartedAtRoute ?? _hops[0].Route ?? "-")}</code> · {_hops.Count} hops, {_hops.Count(h => h.Allowed)} allowed</p>");
        if (DroppedRecords > 0)
        {
            writer.WriteLine($"<p class=\"warn\">{DroppedRecords} records were dropped by the writers: the trail may be incomplete.</p>");
        }

        // The path at a glance: caller → hop, coloured by the decision.
        writer.Write("<ol class=\"chain\" aria-label=\"call chain\">");
        writer.Write($"<li>{Encode(_hops[0].Caller)}</li>");
        foreach (var hop in _hops)
        {
            var css = hop.Allowed ? "allow" : "deny";
            writer.Write($"<li aria-hidden=\"true\">→</li><li class=\"{css}\">{Encode(hop.Callee)} <span class=\"{css}\">{(hop.Allowed ? "allowed" : "denied")}</span></li>");
        }

        writer.WriteLine("</ol>");
        writer.WriteLine("<table><thead><tr><th>#</th><th>Arrived</th><th>Caller</th><th>Hop</th><th>Request</th><th>Route</th><th>Scopes</th><th>Decision</th><th>Why</th><th>req_wl</th></tr></thead><tbody>");
        for (var i = 0; i < _hops.Count; i++)
        {
            var hop = _hops[i];
            var css = hop.Allowed ? "allow" : "deny";
            writer.WriteLine(
                $"<tr><td>{i + 1}</td><td>{Encode(FormatTime(hop.Arrived))}</td><td>{Encode(hop.Caller)}</td><td>{Encode(hop.Callee)}</td>"
                + $"<td><code>{Encode(hop.Method)} {Encode(hop.Host)}{Encode(hop.Path)}</code></td><td>{Encode(hop.Route ?? "-")}</td>"
                + $"<td>{Encode(string.Join(' ', hop.Scopes))}</td><td class=\"{css}\">{(hop.Allowed ? "allowed" : "denied")} {hop.Status}</td>"
                + $"<td><code>{Encode(string.Join(", ", hop.Reasons))}</code>{(hop.Policy is null ? "" : " by <code>" + Encode(hop.Policy) + "</code>")}"
                + $"{(hop.Unverified ? " <em>(Txn-Token refused here: txn as claimed)</em>" : "")}</td>"
                + $"<td>{Encode(string.Join(" › ", hop.RequestingWorkloads))}</td></tr>");
        }

        writer.WriteLine("</tbody></table>");
        writer.WriteLine("</body>");
        writer.WriteLine("</html>");
    }

    /// <summary>The transaction's subject: the first verified hop's.</summary>
    public string? Subject => _hops.FirstOrDefault(h => !h.Unverified && h.Subject is not null)?.Subject;

    /// <summary>The route the transaction started at (a verified Txn-Token's <c>tctx.route</c>).</summary>
    public string? StartedAtRoute => _hops.FirstOrDefault(h => !h.Unverified && h.StartedAtRoute is not null)?.StartedAtRoute;

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string[] Strings(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];

    private static string FormatTime(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "-";

    private static string Encode(string value) => WebUtility.HtmlEncode(value);

    // Values come from requests and tokens: control characters would rewrite the reader's terminal.
    private static string Clean(string value) =>
        value.Any(char.IsControl) ? new string([.. value.Select(c => char.IsControl(c) ? '?' : c)]) : value;
}

/// <summary>One hop of a transaction: one audit record of one process.</summary>
public sealed record TransactionHop
{
    internal int Order { get; init; }

    /// <summary>The audit file the record was read from (one per process).</summary>
    public required string Source { get; init; }
    /// <summary>When the hop finished (the record's <c>time</c>).</summary>
    public DateTimeOffset? Time { get; init; }
    /// <summary>How long the hop took, upstream included (<c>latency_ms</c>).</summary>
    public double LatencyMs { get; init; }
    /// <summary>When the request reached the hop: <see cref="Time"/> − <see cref="LatencyMs"/>; the trail's order.</summary>
    public DateTimeOffset? Arrived => Time?.AddMilliseconds(-LatencyMs);
    public string? Listener { get; init; }
    public string? Route { get; init; }
    public required string Method { get; init; }
    public required string Host { get; init; }
    public required string Path { get; init; }
    /// <summary>The peer's SPIFFE ID (mTLS).</summary>
    public string? Workload { get; init; }
    public string? ClientId { get; init; }
    public string? SourceAddress { get; init; }
    public string? Subject { get; init; }
    public IReadOnlyList<string> Scopes { get; init; } = [];
    public IReadOnlyList<string> RequestingWorkloads { get; init; } = [];
    /// <summary>The Txn-Token's <c>tctx.route</c>.</summary>
    public string? StartedAtRoute { get; init; }
    public required string Decision { get; init; }
    public int Status { get; init; }
    public IReadOnlyList<string> Reasons { get; init; } = [];
    public string? Policy { get; init; }
    /// <summary>The record's <c>txn</c> came from a Txn-Token refused at this hop.</summary>
    public bool Unverified { get; init; }

    /// <summary>Allowed (allow, audit, dry_run) rather than denied.</summary>
    public bool Allowed => Decision != AuditDecisions.Deny;

    /// <summary>Who called: the workload (mTLS), else the client id, else the source address.</summary>
    public string Caller => Workload ?? (ClientId is null ? null : "client " + ClientId) ?? SourceAddress ?? "(anonymous)";

    /// <summary>Which process and listener decided: the audit file's name without extension, and the listener.</summary>
    public string Callee
    {
        get
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(Source);
            return Listener is null ? name : name + "/" + Listener;
        }
    }
}
