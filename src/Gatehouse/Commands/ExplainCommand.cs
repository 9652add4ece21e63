using System.CommandLine;
using System.Net;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Runtime;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse explain</c>: the decision the running proxy would make for a request, with the trace of every
/// policy and rule considered. Exit 0 allow, 1 deny, 2 error. Offline with <c>jwks_file</c> issuers; fetches keys otherwise.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The YAML config file.", Required = true };
        var request = new Option<string>("--request", "-r") { Description = "The request: 'METHOD URL', e.g. 'GET https://api.example.com/orders/1'.", Required = true };
        var token = new Option<string?>("--token", "-t") { Description = "The access token to present (Authorization: Bearer)." };
        var tokenFile = new Option<FileInfo?>("--token-file") { Description = "A file holding the access token." };
        var headers = new Option<string[]>("--header", "-H") { Description = "A request header 'Name: value' (repeatable).", AllowMultipleArgumentsPerToken = false };
        var peer = new Option<string?>("--peer") { Description = "The peer's verified SPIFFE ID (as if presented over mTLS)." };
        var source = new Option<string?>("--source") { Description = "The source IP address." };
        var listener = new Option<string?>("--listener") { Description = "Decide as this listener would (its route list)." };
        var json = new Option<bool>("--json") { Description = "Machine-readable output." };
        var command = new Command("explain", "Explain the decision for a request, rule by rule.")
        {
            config, request, token, tokenFile, headers, peer, source, listener, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await RunAsync(
                    parse.GetValue(config)!,
                    parse.GetValue(request)!,
                    parse.GetValue(token),
                    parse.GetValue(tokenFile),
                    parse.GetValue(headers) ?? [],
                    parse.GetValue(peer),
                    parse.GetValue(source),
                    parse.GetValue(listener),
                    parse.GetValue(json),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HttpRequestException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Error;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(
        FileInfo configFile,
        string requestLine,
        string? token,
        FileInfo? tokenFile,
        string[] headerLines,
        string? peer,
        string? source,
        string? listener,
        bool json,
        CancellationToken cancellationToken)
    {
        var load = ConfigLoader.LoadFile(configFile.FullName, CommandEnvironment.Variables());
        if (!load.IsValid)
        {
            CheckCommand.PrintErrors(load);
            return ExitCodes.Error;
        }

        var parts = requestLine.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !Uri.TryCreate(parts[1], UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
        {
            Console.Error.WriteLine("error: --request must be 'METHOD URL' with an absolute http(s) URL");
            return ExitCodes.Error;
        }

        if (tokenFile is not null)
        {
            token = (await File.ReadAllTextAsync(tokenFile.FullName, cancellationToken).ConfigureAwait(false)).Trim();
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in headerLines)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                Console.Error.WriteLine($"error: --header '{line}' is not 'Name: value'");
                return ExitCodes.Error;
            }
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + "," + value : value;
        }
        if (token is not null)
        {
            headers["authorization"] = "Bearer " + token;
        }

        // Note: an identity Gatehouse could never have verified (a typo, a DNS name) would silently match no
        // principal rule and explain a decision the proxy never makes; refuse it like any other malformed input.
        if (peer is not null && !Gatehouse.Identity.Spiffe.SpiffeId.TryParse(peer, out _, out var peerError))
        {
            Console.Error.WriteLine($"error: --peer '{peer}' is not a SPIFFE ID ({peerError})");
            return ExitCodes.Error;
        }

        IPAddress? sourceAddress = null;
        if (source is not null && !IPAddress.TryParse(source, out sourceAddress))
        {
            Console.Error.WriteLine($"error: --source '{source}' is not an IP address");
            return ExitCodes.Error;
        }

        // The raw path as it would arrive on the wire (Uri keeps percent-encoding in OriginalString).
        var original = url.OriginalString;
        var authorityEnd = original.IndexOf('/', original.IndexOf("//", StringComparison.Ordinal) + 2);
        var target = authorityEnd < 0 ? "/" : original[authorityEnd..];
        var fragment = target.IndexOf('#', StringComparison.Ordinal);
        var question = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = question < 0 ? target : target[..question];
        var query = question < 0 ? "" : target[question..];
        if (fragment >= 0 && (question < 0 || fragment < question))
        {
            rawPath = target[..fragment] + "#" + (question < 0 ? target[(fragment + 1)..] : "");
        }

        var authorizationRequest = new AuthorizationRequest
        {
            Method = parts[0].ToUpperInvariant(),
            Host = url.Host.ToLowerInvariant(),
            Port = url.Port,
            Scheme = url.Scheme,
            RawPath = rawPath,
            Query = query,
            GetHeader = name => headers.TryGetValue(name, out var value) ? value : null,
            SourceAddress = sourceAddress,
            PeerIdentity = peer,
            Listener = listener,
        };

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var compiler = new SnapshotCompiler(http, TimeProvider.System, NullLoggerFactory.Instance);
        var compilation = compiler.Compile(load.Config!, previous: null);
        var snapshot = compilation.Snapshot;
        try
        {
            foreach (var issuer in compilation.Started)
            {
                _ = issuer.StartAsync(cancellationToken);
            }
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!snapshot.IsReady && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }

            var engine = new DecisionEngine(new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance));
            var decision = await engine.DecideAsync(authorizationRequest, snapshot, trace: true, cancellationToken).ConfigureAwait(false);
            if (json)
            {
                WriteJson(decision, Console.OpenStandardOutput());
            }
            else
            {
                WriteText(decision, Console.Out);
            }
            return decision.Allowed ? ExitCodes.Ok : ExitCodes.Failure;
        }
        finally
        {
            foreach (var issuer in snapshot.Issuers.Values)
            {
                await issuer.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    internal static void WriteText(Decision decision, TextWriter output)
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

    internal static void WriteJson(Decision decision, Stream output)
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
