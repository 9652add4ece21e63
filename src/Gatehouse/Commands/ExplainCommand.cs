using System.CommandLine;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Explain;
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
        if (!ExplainRequest.TryCreate(requestLine, headers, token, peer, source, listener, out var authorizationRequest, out var requestError))
        {
            // The field at fault is named as the option that set it: "--peer: 'x' is not a SPIFFE ID (…)".
            Console.Error.WriteLine($"error: --{requestError}");
            return ExitCodes.Error;
        }

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
                DecisionExplanation.WriteJson(decision, Console.OpenStandardOutput());
            }
            else
            {
                DecisionExplanation.WriteText(decision, Console.Out);
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
}
