using System.Globalization;
using System.Net;
using System.Text.Json;
using Gatehouse.Audit;

namespace Gatehouse.Cli.Audit;

/// <summary>
/// The human-readable story of one or more audit files (<c>gatehouse audit summarize FILE… [--html]</c>): per
/// route and per caller, allowed and denied counts, the top denial reasons, and who was denied what and why.
/// </summary>
/// <remarks>
/// Lines that are not audit records (not JSON, not an object, no decision) are counted as malformed and skipped;
/// records of a newer incompatible <c>schema_version</c> are counted as unsupported and skipped. Unknown fields
/// are ignored (docs/audit.md, versioning).
/// </remarks>
public sealed class AuditSummary
{
    /// <summary>Label for records without a route (no route matched).</summary>
    public const string NoRoute = "(no route)";

    /// <summary>Label for callers with neither a client id nor a workload identity.</summary>
    public const string Anonymous = "(anonymous)";

    private readonly Dictionary<string, MutableCounts> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MutableCounts> _callers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _reasons = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Caller, string Route, string Method, string Path, string Reason), MutableDenial> _denials = [];
    private readonly List<string> _sources = [];

    /// <summary>Audit records counted.</summary>
    public long Records { get; private set; }

    /// <summary>Lines that were not audit records.</summary>
    public long MalformedLines { get; private set; }

    /// <summary>Records of a schema version this build does not read.</summary>
    public long UnsupportedRecords { get; private set; }

    /// <summary>Requests let through (allow, audit and dry-run decisions).</summary>
    public long Allowed { get; private set; }

    /// <summary>Requests denied.</summary>
    public long Denied { get; private set; }

    /// <summary>Requests a dry-run policy would have denied (included in <see cref="Allowed"/>).</summary>
    public long DryRun { get; private set; }

    /// <summary>Records the writer dropped (sum of <c>dropped_before</c>): the trail is incomplete by this many.</summary>
    public long DroppedRecords { get; private set; }

    /// <summary>Earliest and latest record time.</summary>
    public DateTimeOffset? From { get; private set; }

    /// <inheritdoc cref="From"/>
    public DateTimeOffset? To { get; private set; }

    /// <summary>The files (or sources) read, in order.</summary>
    public IReadOnlyList<string> Sources => _sources;

    /// <summary>Counts per route, busiest first.</summary>
    public IReadOnlyList<AuditCounts> Routes => Sorted(_routes);

    /// <summary>Counts per caller (client id, else workload SPIFFE ID), busiest first.</summary>
    public IReadOnlyList<AuditCounts> Callers => Sorted(_callers);

    /// <summary>Denial reasons (the most decisive reason of each denial), most frequent first.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> DenialReasons =>
        [.. _reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal)];

    /// <summary>Who was denied what and why, most frequent first.</summary>
    public IReadOnlyList<AuditDenial> Denials =>
    [
        .. _denials
            .Select(d => new AuditDenial(d.Key.Caller, d.Key.Route, d.Key.Method, d.Key.Path, d.Key.Reason, d.Value.Count, d.Value.Last))
            .OrderByDescending(d => d.Count).ThenBy(d => d.Caller, StringComparer.Ordinal).ThenBy(d => d.Route, StringComparer.Ordinal)
            .ThenBy(d => d.Path, StringComparer.Ordinal),
    ];

    /// <summary>Reads JSON Lines audit files (rotated files included: pass them all).</summary>
    public static AuditSummary FromFiles(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var summary = new AuditSummary();
        foreach (var path in paths)
        {
            using var reader = new StreamReader(path, new FileStreamOptions { Share = FileShare.ReadWrite | FileShare.Delete });
            summary.Add(reader, path);
        }

        return summary;
    }

    /// <summary>Adds every line of <paramref name="reader"/>.</summary>
    public void Add(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _sources.Add(source);
        while (reader.ReadLine() is { } line)
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                AddLine(line);
            }
        }
    }

    /// <summary>Adds one line; false when it was malformed or unsupported.</summary>
    public bool AddLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            MalformedLines++;
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("decision", out var decisionElement) || decisionElement.ValueKind != JsonValueKind.String)
            {
                MalformedLines++;
                return false;
            }

            if (root.TryGetProperty("schema_version", out var version)
                && (!version.TryGetInt32(out var v) || v > AuditRecord.CurrentSchemaVersion))
            {
                UnsupportedRecords++;
                return false;
            }

            Count(root, decisionElement.GetString()!);
            return true;
        }
    }

    private void Count(JsonElement root, string decision)
    {
        Records++;
        var route = String(root, "route") ?? NoRoute;
        var caller = String(root, "client_id") ?? String(root, "workload") ?? Anonymous;
        var time = String(root, "time") is { } t && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : (DateTimeOffset?)null;
        if (time is { } when)
        {
            From = From is null || when < From ? when : From;
            To = To is null || when > To ? when : To;
        }

        if (root.TryGetProperty("dropped_before", out var dropped) && dropped.TryGetInt64(out var droppedCount) && droppedCount > 0)
        {
            DroppedRecords += droppedCount;
        }

        var routeCounts = Counts(_routes, route);
        var callerCounts = Counts(_callers, caller);
        if (decision == AuditDecisions.Deny)
        {
            Denied++;
            routeCounts.Denied++;
            callerCounts.Denied++;
            var reason = FirstReason(root) ?? "(no reason)";
            _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
            var key = (caller, route, String(root, "method") ?? "", String(root, "path") ?? "", reason);
            if (!_denials.TryGetValue(key, out var denial))
            {
                _denials[key] = denial = new MutableDenial();
            }

            denial.Count++;
            denial.Last = denial.Last is null || time > denial.Last ? time : denial.Last;
        }
        else
        {
            Allowed++;
            routeCounts.Allowed++;
            callerCounts.Allowed++;
            if (decision == AuditDecisions.DryRun)
            {
                DryRun++;
                routeCounts.DryRun++;
                callerCounts.DryRun++;
            }
        }
    }

    /// <summary>Writes the summary as plain text tables.</summary>
    public void RenderText(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine("Gatehouse audit summary");
        writer.WriteLine($"  files:     {Clean(string.Join(", ", _sources))}");
        writer.WriteLine($"  period:    {FormatTime(From)} .. {FormatTime(To)}");
        writer.WriteLine($"  decisions: {Records} ({Allowed} allowed, {Denied} denied, {DryRun} would be denied by dry-run policies)");
        if (MalformedLines > 0 || UnsupportedRecords > 0)
        {
            writer.WriteLine($"  skipped:   {MalformedLines} malformed lines, {UnsupportedRecords} records of an unsupported schema version");
        }

        if (DroppedRecords > 0)
        {
            writer.WriteLine($"  WARNING:   {DroppedRecords} records were dropped by the writer (audit queue full); the trail is incomplete");
        }

        WriteCountsTable(writer, "By route", "route", Routes);
        WriteCountsTable(writer, "By caller (client id or workload)", "caller", Callers);

        writer.WriteLine();
        writer.WriteLine("Top denial reasons");
        var reasons = DenialReasons;
        if (reasons.Count == 0)
        {
            writer.WriteLine("  (no denials)");
        }

        foreach (var (reason, count) in reasons.Take(10))
        {
            writer.WriteLine($"  {count,8}  {Clean(reason)}");
        }

        writer.WriteLine();
        writer.WriteLine("Who was denied what, and why");
        var denials = Denials;
        if (denials.Count == 0)
        {
            writer.WriteLine("  (no denials)");
        }

        foreach (var d in denials.Take(25))
        {
            writer.WriteLine($"  {d.Count,8}x  {Clean(d.Caller)} -> {Clean(d.Route)}: {Clean(d.Method)} {Clean(d.Path)} denied ({Clean(d.Reason)}), last {FormatTime(d.LastSeen)}");
        }

        if (denials.Count > 25)
        {
            writer.WriteLine($"  … and {denials.Count - 25} more");
        }
    }

    /// <summary>
    /// Writes one self-contained HTML page (inline CSS and SVG charts, no scripts, no external assets); every
    /// value from the trail is HTML-escaped.
    /// </summary>
    public void RenderHtml(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write("""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Gatehouse audit summary</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2430; max-width: 72rem; }
            h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
            table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
            th, td { padding: .25rem .6rem; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
            td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
            .kpi { display: inline-block; margin: 0 1.5rem 1rem 0; } .kpi b { display: block; font-size: 1.6rem; }
            .allow { fill: #2da44e; color: #2da44e; } .deny { fill: #cf222e; color: #cf222e; } .dry { fill: #bf8700; color: #bf8700; }
            .warn { background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .8rem; }
            svg text { font-size: 12px; fill: #1d2430; } code { font-size: .85rem; }
            </style>
            </head>
            <body>
            <h1>Gatehouse audit summary</h1>

            """);
        writer.Write("<p>Files: ");
        writer.Write(Encode(string.Join(", ", _sources)));
        writer.Write("<br>Period: ");
        writer.Write(Encode(FormatTime(From)));
        writer.Write(" to ");
        writer.Write(Encode(FormatTime(To)));
        writer.WriteLine("</p>");
        writer.Write("<div>");
        Kpi(writer, "decisions", Records, null);
        Kpi(writer, "allowed", Allowed, "allow");
        Kpi(writer, "denied", Denied, "deny");
        Kpi(writer, "would be denied (dry-run)", DryRun, "dry");
        writer.WriteLine("</div>");
        if (DroppedRecords > 0)
        {
            writer.WriteLine($"<p class=\"warn\">{DroppedRecords} records were dropped by the writer (audit queue full): the trail is incomplete.</p>");
        }

        if (MalformedLines > 0 || UnsupportedRecords > 0)
        {
            writer.WriteLine($"<p class=\"warn\">Skipped {MalformedLines} malformed lines and {UnsupportedRecords} records of an unsupported schema version.</p>");
        }

        HtmlCounts(writer, "By route", "Route", Routes);
        HtmlCounts(writer, "By caller (client id or workload)", "Caller", Callers);

        writer.WriteLine("<h2>Top denial reasons</h2>");
        var reasons = DenialReasons.Take(10).ToList();
        if (reasons.Count == 0)
        {
            writer.WriteLine("<p>No denials.</p>");
        }
        else
        {
            var max = reasons.Max(r => r.Value);
            BarChart(writer, "Top denial reasons", reasons.Select(r => (r.Key, new[] { (r.Value, "deny") })).ToList(), max);
        }

        writer.WriteLine("<h2>Who was denied what, and why</h2>");
        var denials = Denials;
        if (denials.Count == 0)
        {
            writer.WriteLine("<p>No denials.</p>");
        }
        else
        {
            writer.WriteLine("<table><thead><tr><th class=\"n\">Count</th><th>Caller</th><th>Route</th><th>Request</th><th>Reason</th><th>Last seen</th></tr></thead><tbody>");
            foreach (var d in denials.Take(100))
            {
                writer.WriteLine(
                    $"<tr><td class=\"n\">{d.Count}</td><td>{Encode(d.Caller)}</td><td>{Encode(d.Route)}</td><td><code>{Encode(d.Method)} {Encode(d.Path)}</code></td><td><code>{Encode(d.Reason)}</code></td><td>{Encode(FormatTime(d.LastSeen))}</td></tr>");
            }

            writer.WriteLine("</tbody></table>");
            if (denials.Count > 100)
            {
                writer.WriteLine($"<p>… and {denials.Count - 100} more.</p>");
            }
        }

        writer.WriteLine("</body>");
        writer.WriteLine("</html>");
    }

    private static void Kpi(TextWriter writer, string label, long value, string? cssClass) =>
        writer.Write($"<span class=\"kpi{(cssClass is null ? "" : " " + cssClass)}\"><b>{value}</b>{Encode(label)}</span>");

    private static void HtmlCounts(TextWriter writer, string title, string column, IReadOnlyList<AuditCounts> rows)
    {
        writer.Write("<h2>");
        writer.Write(Encode(title));
        writer.WriteLine("</h2>");
        if (rows.Count == 0)
        {
            writer.WriteLine("<p>No records.</p>");
            return;
        }

        var top = rows.Take(20).ToList();
        var max = top.Max(r => r.Total);
        BarChart(writer, title, top.Select(r => (r.Name, new[] { (r.Allowed - r.DryRun, "allow"), (r.DryRun, "dry"), (r.Denied, "deny") })).ToList(), max);
        writer.WriteLine($"<table><thead><tr><th>{Encode(column)}</th><th class=\"n\">Allowed</th><th class=\"n\">Denied</th><th class=\"n\">Dry-run denials</th><th class=\"n\">Denied %</th></tr></thead><tbody>");
        foreach (var row in rows)
        {
            writer.WriteLine(
                $"<tr><td>{Encode(row.Name)}</td><td class=\"n\">{row.Allowed}</td><td class=\"n\">{row.Denied}</td><td class=\"n\">{row.DryRun}</td><td class=\"n\">{Percent(row.Denied, row.Total)}</td></tr>");
        }

        writer.WriteLine("</tbody></table>");
    }

    /// <summary>A horizontal (stacked) bar chart as inline SVG.</summary>
    private static void BarChart(TextWriter writer, string title, IReadOnlyList<(string Label, (long Value, string Css)[] Parts)> rows, long max)
    {
        const int LabelWidth = 260;
        const int BarWidth = 420;
        const int RowHeight = 22;
        var height = (rows.Count * RowHeight) + 6;
        writer.WriteLine(
            $"<svg role=\"img\" aria-label=\"{Encode(title)}\" width=\"{LabelWidth + BarWidth + 80}\" height=\"{height}\" viewBox=\"0 0 {LabelWidth + BarWidth + 80} {height}\">");
        for (var i = 0; i < rows.Count; i++)
        {
            var (label, parts) = rows[i];
            var y = (i * RowHeight) + 3;
            var shown = label.Length > 40 ? label[..39] + "…" : label;
            writer.WriteLine($"<text x=\"{LabelWidth - 6}\" y=\"{y + 14}\" text-anchor=\"end\"><title>{Encode(label)}</title>{Encode(shown)}</text>");
            double x = LabelWidth;
            long total = 0;
            foreach (var (value, css) in parts)
            {
                if (value <= 0)
                {
                    continue;
                }

                var width = max == 0 ? 0 : BarWidth * (double)value / max;
                writer.WriteLine(
                    $"<rect class=\"{css}\" x=\"{F(x)}\" y=\"{y}\" width=\"{F(Math.Max(width, 1))}\" height=\"{RowHeight - 6}\"><title>{Encode(label)}: {value} {css}</title></rect>");
                x += width;
                total += value;
            }

            writer.WriteLine($"<text x=\"{F(x + 6)}\" y=\"{y + 14}\">{total}</text>");
        }

        writer.WriteLine("</svg>");
    }

    private static void WriteCountsTable(TextWriter writer, string title, string column, IReadOnlyList<AuditCounts> rows)
    {
        writer.WriteLine();
        writer.WriteLine(title);
        if (rows.Count == 0)
        {
            writer.WriteLine("  (no records)");
            return;
        }

        var width = Math.Clamp(rows.Max(r => r.Name.Length), column.Length, 60);
        writer.WriteLine($"  {column.PadRight(width)}  {"allowed",9}  {"denied",9}  {"dry-run",9}  {"denied%",8}");
        foreach (var row in rows)
        {
            var clean = Clean(row.Name);
            var name = clean.Length > width ? clean[..(width - 1)] + "…" : clean;
            writer.WriteLine($"  {name.PadRight(width)}  {row.Allowed,9}  {row.Denied,9}  {row.DryRun,9}  {Percent(row.Denied, row.Total),8}");
        }
    }

    private static string Percent(long part, long total) =>
        total == 0 ? "-" : (100.0 * part / total).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Encode(string value) => WebUtility.HtmlEncode(value);

    /// <summary>
    /// Values come from requests: control characters (terminal escape sequences, newlines) are replaced so a
    /// hostile path cannot rewrite the reviewer's terminal or forge report lines.
    /// </summary>
    private static string Clean(string value)
    {
        if (!value.AsSpan().ContainsAnyInRange('\u0000', '\u001f') && !value.AsSpan().ContainsAnyInRange('\u007f', '\u009f'))
        {
            return value;
        }

        return string.Create(value.Length, value, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    // Note: the format the records carry (docs/audit.md, `time`), so a time in the report can be searched for in the file.
    private static string FormatTime(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "-";

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? FirstReason(JsonElement root) =>
        root.TryGetProperty("reasons", out var reasons) && reasons.ValueKind == JsonValueKind.Array && reasons.GetArrayLength() > 0
            && reasons[0].ValueKind == JsonValueKind.String
            ? reasons[0].GetString()
            : null;

    private static MutableCounts Counts(Dictionary<string, MutableCounts> map, string key)
    {
        if (!map.TryGetValue(key, out var counts))
        {
            map[key] = counts = new MutableCounts();
        }

        return counts;
    }

    private static AuditCounts[] Sorted(Dictionary<string, MutableCounts> map) =>
    [
        .. map.Select(e => new AuditCounts(e.Key, e.Value.Allowed, e.Value.Denied, e.Value.DryRun))
            .OrderByDescending(c => c.Total).ThenBy(c => c.Name, StringComparer.Ordinal),
    ];

    private sealed class MutableCounts
    {
        public long Allowed;
        public long Denied;
        public long DryRun;
    }

    private sealed class MutableDenial
    {
        public long Count;
        public DateTimeOffset? Last;
    }
}

/// <summary>Allowed/denied counts for one route or caller. <see cref="Allowed"/> includes <see cref="DryRun"/>.</summary>
public sealed record AuditCounts(string Name, long Allowed, long Denied, long DryRun)
{
    /// <summary>All decisions.</summary>
    public long Total => Allowed + Denied;
}

/// <summary>A group of identical denials: who (caller), what (route, method, path), why (reason), how often.</summary>
public sealed record AuditDenial(string Caller, string Route, string Method, string Path, string Reason, long Count, DateTimeOffset? LastSeen);
