using System.Text.Json;
using Gatehouse.Model;

namespace Gatehouse.Decisions.Explain;

/// <summary>
/// A decision with its trace, as text for people and as JSON for tools: the one rendering shared by
/// <c>gatehouse explain</c> and the admin console's explain form, so both show the same decision the same way.
/// Holds no token: only the fingerprint, <c>kid</c> and <c>jti</c> of the decision's token facts.
/// </summary>
public static class DecisionExplanation
{
    public static void WriteText(Decision decision, TextWriter output)
    {
        output.WriteLine($"decision:  {(decision.Allowed ? "ALLOW" : "DENY")} ({decision.StatusCode})");
        output.WriteLine($"route:     {decision.RouteName ?? "(none)"}");
        if (decision.NormalizedPath is not null)
        {
            output.WriteLine($"path:      {decision.NormalizedPath}");
        }
        output.WriteLine($"reasons:   {string.Join(", ", decision.Reasons)}");
        if (decision.DecidingPolicy is not null)
        {
            output.WriteLine($"decided by: {decision.DecidingPolicy}");
        }
        if (decision.Challenge is not null)
        {
            output.WriteLine($"challenge: WWW-Authenticate: {decision.Challenge}");
        }
        if (decision.Principal is { } principal)
        {
            output.WriteLine("principal:");
            output.WriteLine($"  workload: {principal.Workload ?? "-"}");
            output.WriteLine($"  issuer:   {principal.IssuerName ?? "-"} ({principal.Issuer ?? "-"})");
            output.WriteLine($"  subject:  {principal.Subject ?? "-"}");
            output.WriteLine($"  client:   {principal.ClientId ?? "-"}");
            output.WriteLine($"  scopes:   {string.Join(' ', principal.Scopes.Order(StringComparer.Ordinal))}");
            output.WriteLine($"  roles:    {string.Join(' ', principal.Roles.Order(StringComparer.Ordinal))}");
            if (principal.Actors.Count > 0)
            {
                // RFC 8693 §4.1: the outermost act is the current actor; each nested act acted before it.
                output.WriteLine($"  actors:   {principal.Actors.Count} (current first)");
                for (var i = 0; i < principal.Actors.Count; i++)
                {
                    var actor = principal.Actors[i];
                    var details = new List<string>(2);
                    if (actor.ClientId is not null && actor.ClientId != actor.Subject)
                    {
                        details.Add($"client_id={actor.ClientId}");
                    }
                    if (actor.Issuer is not null)
                    {
                        details.Add($"iss={actor.Issuer}");
                    }
                    var role = i == 0 ? "current" : "prior";
                    output.WriteLine($"    {i + 1}. {actor.Id} ({role}{(details.Count > 0 ? ", " + string.Join(", ", details) : "")})");
                }
            }
        }
        if (decision.Token is { } facts)
        {
            output.WriteLine($"token:     {facts.Kind} fingerprint={facts.Fingerprint} kid={facts.Kid ?? "-"} jti={facts.Jti ?? "-"} alg={facts.Algorithm ?? "-"}");
        }
        if (decision.Trace.Count > 0)
        {
            output.WriteLine("trace:");
            foreach (var entry in decision.Trace)
            {
                var rule = entry.Rule is { } r ? $"/rule{r}" : "";
                var dry = entry.DryRun ? " [dry-run]" : "";
                output.WriteLine($"  {entry.Action,-6} {entry.Policy}{rule}{dry}: {(entry.Matched ? "matched" : "no match")} - {entry.Detail}");
            }
        }
        foreach (var recorded in decision.Recorded)
        {
            output.WriteLine($"recorded:  {recorded}");
        }
        foreach (var (name, value) in decision.UpstreamHeaders)
        {
            output.WriteLine($"upstream header: {name}: {value}");
        }
    }

    public static void WriteJson(Decision decision, Stream output)
    {
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("decision", decision.Allowed ? "allow" : "deny");
        writer.WriteNumber("status", decision.StatusCode);
        writer.WriteString("route", decision.RouteName);
        writer.WriteString("path", decision.NormalizedPath);
        writer.WriteStartArray("reasons");
        foreach (var reason in decision.Reasons)
        {
            writer.WriteStringValue(reason);
        }
        writer.WriteEndArray();
        writer.WriteString("deciding_policy", decision.DecidingPolicy);
        writer.WriteString("challenge", decision.Challenge);
        if (decision.Principal is { } principal)
        {
            writer.WriteStartObject("principal");
            writer.WriteString("workload", principal.Workload);
            writer.WriteString("issuer", principal.Issuer);
            writer.WriteString("subject", principal.Subject);
            writer.WriteString("client_id", principal.ClientId);
            writer.WriteStartArray("scopes");
            foreach (var scope in principal.Scopes.Order(StringComparer.Ordinal))
            {
                writer.WriteStringValue(scope);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("roles");
            foreach (var role in principal.Roles.Order(StringComparer.Ordinal))
            {
                writer.WriteStringValue(role);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("actors");
            foreach (var actor in principal.Actors)
            {
                writer.WriteStartObject();
                writer.WriteString("sub", actor.Subject);
                writer.WriteString("client_id", actor.ClientId);
                writer.WriteString("iss", actor.Issuer);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        if (decision.Token is { } facts)
        {
            writer.WriteStartObject("token");
            writer.WriteString("kind", facts.Kind);
            writer.WriteString("fingerprint", facts.Fingerprint);
            writer.WriteString("kid", facts.Kid);
            writer.WriteString("jti", facts.Jti);
            writer.WriteString("iss", facts.Issuer);
            writer.WriteString("alg", facts.Algorithm);
            writer.WriteEndObject();
        }
        writer.WriteStartArray("trace");
        foreach (var entry in decision.Trace)
        {
            writer.WriteStartObject();
            writer.WriteString("policy", entry.Policy);
            writer.WriteString("action", entry.Action);
            if (entry.Rule is { } rule)
            {
                writer.WriteNumber("rule", rule);
            }
            writer.WriteBoolean("matched", entry.Matched);
            writer.WriteBoolean("dry_run", entry.DryRun);
            writer.WriteString("detail", entry.Detail);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("recorded");
        foreach (var recorded in decision.Recorded)
        {
            writer.WriteStringValue(recorded);
        }
        writer.WriteEndArray();
        writer.WriteStartObject("upstream_headers");
        foreach (var (name, value) in decision.UpstreamHeaders)
        {
            writer.WriteString(name, value);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
        output.WriteByte((byte)'\n');
        output.Flush();
    }
}
