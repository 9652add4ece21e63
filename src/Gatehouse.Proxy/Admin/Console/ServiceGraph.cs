using System.Text.Json;
using Gatehouse.Audit;

namespace Gatehouse.Proxy.Admin.Console;

/// <summary>
/// Who called whom, from decision records: callers are workloads (their SPIFFE ID), external clients (client id at
/// issuer) or anonymous callers; targets are routes. An edge counts allowed and denied calls and keeps the most
/// frequent denial reasons and the trace ids of recent denials, so a denied call leads to the chain it belonged to.
/// </summary>
internal static class ServiceGraph
{
    private const int TopReasons = 5;
    private const int RecentDenials = 10;

    public static void Write(Utf8JsonWriter writer, IReadOnlyList<AuditRecord> records, DateTimeOffset from, DateTimeOffset to)
    {
        var nodes = new Dictionary<string, (string Kind, string Label)>(StringComparer.Ordinal);
        var edges = new Dictionary<(string From, string To), Edge>();
        foreach (var record in records)
        {
            var (callerId, callerKind, callerLabel) = Caller(record);
            var routeId = "route:" + (record.Route ?? "(no route)");
            nodes.TryAdd(callerId, (callerKind, callerLabel));
            nodes.TryAdd(routeId, ("route", record.Route ?? "(no route)"));
            if (!edges.TryGetValue((callerId, routeId), out var edge))
            {
                edge = new Edge();
                edges[(callerId, routeId)] = edge;
            }

            edge.Add(record);
        }

        writer.WriteStartObject();
        writer.WriteString("from", from);
        writer.WriteString("to", to);
        writer.WriteNumber("decisions", records.Count);
        writer.WriteStartArray("nodes");
        foreach (var (id, (kind, label)) in nodes.OrderBy(n => n.Key, StringComparer.Ordinal))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteString("kind", kind);
            writer.WriteString("label", label);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("edges");
        foreach (var ((source, target), edge) in edges.OrderBy(e => e.Key.From, StringComparer.Ordinal).ThenBy(e => e.Key.To, StringComparer.Ordinal))
        {
            writer.WriteStartObject();
            writer.WriteString("from", source);
            writer.WriteString("to", target);
            writer.WriteNumber("allowed", edge.Allowed);
            writer.WriteNumber("denied", edge.Denied);
            writer.WriteStartArray("top_reasons");
            foreach (var (reason, count) in edge.Reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).Take(TopReasons))
            {
                writer.WriteStartObject();
                writer.WriteString("reason", reason);
                writer.WriteNumber("count", count);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("recent_denied_traces");
            foreach (var trace in edge.DeniedTraces)
            {
                writer.WriteStringValue(trace);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The caller of a decision: its workload, else its OAuth client, else anonymous (by listener).</summary>
    internal static (string Id, string Kind, string Label) Caller(AuditRecord record)
    {
        if (record.Workload is { Length: > 0 } workload)
        {
            return ("workload:" + workload, "workload", workload);
        }

        if (record.ClientId is { Length: > 0 } client)
        {
            var issuer = record.IssuerName ?? record.Issuer ?? "?";
            return ($"client:{client}@{issuer}", "client", $"{client} ({issuer})");
        }

        if (record.Subject is { Length: > 0 } subject)
        {
            var issuer = record.IssuerName ?? record.Issuer ?? "?";
            return ($"subject:{subject}@{issuer}", "client", $"{subject} ({issuer})");
        }

        return ("anonymous:" + (record.Listener ?? "?"), "anonymous", $"anonymous via {record.Listener ?? "?"}");
    }

    private sealed class Edge
    {
        public long Allowed;
        public long Denied;
        public Dictionary<string, long> Reasons { get; } = new(StringComparer.Ordinal);
        public LinkedList<string> DeniedTraces { get; } = new();

        public void Add(AuditRecord record)
        {
            // Audit and dry-run records were allowed through too; only a deny stopped the call.
            if (!string.Equals(record.Decision, AuditDecisions.Deny, StringComparison.Ordinal))
            {
                Allowed++;
                return;
            }

            Denied++;
            foreach (var reason in record.Reasons)
            {
                var code = reason.Split(':', 2)[0];
                Reasons[code] = Reasons.GetValueOrDefault(code) + 1;
            }

            if (record.TraceId is { } trace)
            {
                DeniedTraces.AddFirst(trace);
                if (DeniedTraces.Count > RecentDenials)
                {
                    DeniedTraces.RemoveLast();
                }
            }
        }
    }
}
