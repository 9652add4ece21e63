using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Explain;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Proxy.Admin.Console;

/// <summary>
/// The admin console at <c>/ui</c>: one page (embedded, no external fetch) and its read-only JSON API — the service
/// graph, the decision list and live stream (Server-Sent Events), one call chain by trace id, explain on the running
/// config, and health at a glance. Nothing it sends holds a token, secret or private key: decisions are the audit
/// records (fingerprints only), and a token pasted into the explain form is used for that one decision and dropped.
/// </summary>
internal sealed class ConsoleEndpoints
{
    private const string CookieName = "gatehouse_ui";
    private const int MaxExplainBody = 64 * 1024;

    // Note: no inline script or style, nothing from another origin (an air-gapped cluster has no CDN anyway).
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new(StringComparer.Ordinal)
    {
        ["/ui"] = ("index.html", "text/html; charset=utf-8"),
        ["/ui/"] = ("index.html", "text/html; charset=utf-8"),
        ["/ui/console.js"] = ("console.js", "text/javascript; charset=utf-8"),
        ["/ui/console.css"] = ("console.css", "text/css; charset=utf-8"),
    };

    private static readonly ConcurrentDictionary<string, byte[]> AssetCache = new(StringComparer.Ordinal);

    private readonly GatehouseServer _server;
    private readonly DecisionFeed _feed;
    private readonly CacheTally _caches;
    private readonly TimeProvider _time;
    private SecretFile? _secret;

    public ConsoleEndpoints(GatehouseServer server, DecisionFeed feed, CacheTally caches, TimeProvider time)
    {
        _server = server;
        _feed = feed;
        _caches = caches;
        _time = time;
    }

    public static bool Handles(PathString path) => path.StartsWithSegments("/ui", StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var admin = _server.Snapshots.Current.Config.Admin;
        response.Headers.CacheControl = "no-store";
        if (!admin.Ui)
        {
            await WriteTextAsync(context, 404, "the console is off (admin.ui: false)\n").ConfigureAwait(false);
            return;
        }

        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        var path = request.Path.Value ?? "";
        if (Assets.TryGetValue(path, out var asset))
        {
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            {
                await MethodNotAllowedAsync(context, "GET, HEAD").ConfigureAwait(false);
                return;
            }

            response.ContentType = asset.ContentType;
            await response.Body.WriteAsync(Asset(asset.Resource), context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (path == "/ui/api/login")
        {
            await LoginAsync(context, admin).ConfigureAwait(false);
            return;
        }

        if (!Authorized(request, admin))
        {
            response.Headers.WWWAuthenticate = "Bearer realm=\"gatehouse-console\"";
            await WriteTextAsync(context, 401, "the console needs the admin.ui_token_file secret\n").ConfigureAwait(false);
            return;
        }

        if (path == "/ui/api/explain")
        {
            if (!HttpMethods.IsPost(request.Method))
            {
                await MethodNotAllowedAsync(context, "POST").ConfigureAwait(false);
                return;
            }

            await ExplainAsync(context).ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            await MethodNotAllowedAsync(context, "GET, HEAD").ConfigureAwait(false);
            return;
        }

        switch (path)
        {
            case "/ui/api/graph":
                await WriteJsonAsync(context, writer =>
                {
                    var to = _time.GetUtcNow();
                    var from = to - Window(request, admin);
                    ServiceGraph.Write(writer, _feed.Since(from), from, to);
                }).ConfigureAwait(false);
                break;
            case "/ui/api/decisions":
                var filter = DecisionFilter.From(request.Query);
                var limit = int.TryParse(request.Query["limit"], out var l) ? Math.Clamp(l, 1, 1000) : 200;
                var records = _feed.Since(_time.GetUtcNow() - Window(request, admin)).Where(filter.Matches).Reverse().Take(limit).ToList();
                await WriteJsonAsync(context, writer => WriteRecords(writer, records)).ConfigureAwait(false);
                break;
            case "/ui/api/chain":
                var trace = request.Query["trace"].ToString();
                var chain = trace.Length == 0 ? [] : _feed.Since(DateTimeOffset.MinValue).Where(r => string.Equals(r.TraceId, trace, StringComparison.Ordinal)).ToList();
                await WriteJsonAsync(context, writer => WriteRecords(writer, chain)).ConfigureAwait(false);
                break;
            case "/ui/api/stream":
                await StreamAsync(context, DecisionFilter.From(request.Query)).ConfigureAwait(false);
                break;
            case "/ui/api/health":
                await WriteJsonAsync(context, WriteHealth).ConfigureAwait(false);
                break;
            default:
                await WriteTextAsync(context, 404, "not found\n").ConfigureAwait(false);
                break;
        }
    }

    private static TimeSpan Window(HttpRequest request, AdminConfig admin) =>
        int.TryParse(request.Query["minutes"], out var minutes) && minutes > 0
            ? TimeSpan.FromMinutes(Math.Min(minutes, admin.UiWindow.TotalMinutes))
            : admin.UiWindow;

    private bool Authorized(HttpRequest request, AdminConfig admin)
    {
        if (admin.UiTokenFile is null)
        {
            return true;
        }

        var secret = ReadSecret(admin.UiTokenFile);
        if (secret is null)
        {
            // Fail closed: a configured secret that cannot be read locks the console rather than opening it.
            return false;
        }

        var presented = request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? header["Bearer ".Length..].Trim()
            : request.Cookies[CookieName];
        return presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), secret);
    }

    private async Task LoginAsync(HttpContext context, AdminConfig admin)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await MethodNotAllowedAsync(context, "POST").ConfigureAwait(false);
            return;
        }

        if (admin.UiTokenFile is null)
        {
            await WriteTextAsync(context, 204, "").ConfigureAwait(false);
            return;
        }

        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false) : null;
        var presented = form?["secret"].ToString();
        var secret = ReadSecret(admin.UiTokenFile);
        if (presented is null || secret is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), secret))
        {
            await WriteTextAsync(context, 401, "wrong secret\n").ConfigureAwait(false);
            return;
        }

        context.Response.Cookies.Append(CookieName, presented, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/ui",
            Secure = context.Request.IsHttps,
        });
        context.Response.StatusCode = 204;
    }

    /// <summary>
    /// The console secret from <c>admin.ui_token_file</c>, re-read when the file changes (a rotated Kubernetes Secret
    /// takes effect without a restart). Null when the file cannot be read or is empty: the console then stays locked.
    /// </summary>
    private byte[]? ReadSecret(string path)
    {
        var file = _secret;
        if (file is null || file.Path != Path.GetFullPath(path))
        {
            // admin.ui_token_file applies on reload: a new path gets a new reader.
            file = new SecretFile(path);
            _secret = file;
        }

        return file.Read(out _) is { } secret ? Encoding.UTF8.GetBytes(secret) : null;
    }

    private async Task ExplainAsync(HttpContext context)
    {
        // A JSON body only: a cross-site form cannot send one without a CORS preflight, which this listener never grants.
        if (!(context.Request.ContentType ?? "").StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await WriteTextAsync(context, 415, "explain takes application/json\n").ConfigureAwait(false);
            return;
        }

        ExplainInput? input;
        try
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
            if (body.Length > MaxExplainBody)
            {
                await WriteTextAsync(context, 413, "explain request too large\n").ConfigureAwait(false);
                return;
            }

            input = ExplainInput.Parse(body.ToArray());
        }
        catch (JsonException)
        {
            input = null;
        }

        if (input is null)
        {
            await WriteErrorAsync(context, "the body must be a JSON object with a 'request' string ('METHOD URL')").ConfigureAwait(false);
            return;
        }

        if (!ExplainRequest.TryCreate(input.Request, input.Headers, input.Token, input.Peer, input.Source, input.Listener, out var authorizationRequest, out var error))
        {
            await WriteErrorAsync(context, error).ConfigureAwait(false);
            return;
        }

        // The same engine and the same snapshot that serve traffic; the decision is not audited (no request was
        // served) and the token is not kept or logged anywhere.
        var engine = _server.Services.GetRequiredService<DecisionEngine>();
        var decision = await engine.DecideAsync(authorizationRequest, _server.Snapshots.Current, trace: true, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        DecisionExplanation.WriteJson(decision, buffer);
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private async Task StreamAsync(HttpContext context, DecisionFilter filter)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers["X-Accel-Buffering"] = "no";
        using var subscription = _feed.Subscribe();
        var aborted = context.RequestAborted;
        await response.WriteAsync(": gatehouse decisions\n\n", aborted).ConfigureAwait(false);
        await response.Body.FlushAsync(aborted).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                // A comment every 15 s keeps idle proxies and load balancers from closing the stream.
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                heartbeat.CancelAfter(TimeSpan.FromSeconds(15));
                bool ready;
                try
                {
                    ready = await subscription.Reader.WaitToReadAsync(heartbeat.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", aborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    continue;
                }

                if (!ready)
                {
                    break;
                }

                while (subscription.Reader.TryRead(out var record))
                {
                    if (!filter.Matches(record))
                    {
                        continue;
                    }

                    buffer.SetLength(0);
                    buffer.Write("event: decision\ndata: "u8);
                    using (var writer = new Utf8JsonWriter(buffer))
                    {
                        record.WriteTo(writer);
                    }

                    buffer.Write("\n\n"u8);
                    await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), aborted).ConfigureAwait(false);
                }

                await response.Body.FlushAsync(aborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The browser went away.
        }
    }

    private void WriteHealth(Utf8JsonWriter writer)
    {
        var snapshot = _server.Snapshots.Current;
        var now = _time.GetUtcNow();
        writer.WriteStartObject();
        writer.WriteNumber("revision", snapshot.Revision);
        writer.WriteString("loaded_at", snapshot.LoadedAt);
        writer.WriteBoolean("ready", snapshot.IsReady);
        writer.WriteStartArray("issuers");
        foreach (var issuer in snapshot.Issuers.Values.OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var state = issuer.KeyState;
            writer.WriteStartObject();
            writer.WriteString("name", issuer.Name);
            writer.WriteString("issuer", issuer.Config.Issuer);
            writer.WriteString("source", state.Source);
            writer.WriteBoolean("keys_loaded", issuer.KeysLoaded);
            writer.WriteNumber("key_count", state.KeyCount);
            if (state.Age is { } age)
            {
                writer.WriteNumber("key_age_seconds", Math.Round(age.TotalSeconds, 1));
            }

            writer.WriteBoolean("stale", state.IsStale);
            writer.WriteBoolean("expired", state.IsExpired);
            if (state.LastSuccessfulFetch is { } success)
            {
                writer.WriteString("last_success", success);
            }

            if (state.LastFailure is { } failure)
            {
                writer.WriteString("last_failure", failure);
                if (state.LastFailureAt is { } at)
                {
                    writer.WriteString("last_failure_at", at);
                }
            }

            var (hits, misses) = _caches.Introspection(issuer.Name);
            if (hits + misses > 0)
            {
                writer.WriteNumber("introspection_cache_hits", hits);
                writer.WriteNumber("introspection_cache_misses", misses);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("certificates");
        foreach (var listener in snapshot.Config.Listeners.Where(l => l.Tls is not null))
        {
            WriteCertificates(writer, listener.Name, "certificate", "", listener.Tls!.Certificate, now);
            if (listener.Tls.ClientCa is { } ca)
            {
                WriteCertificates(writer, listener.Name, "client_ca", "", ca, now);
            }

            foreach (var (trustDomain, file) in listener.Tls.TrustBundles.OrderBy(b => b.Key, StringComparer.Ordinal))
            {
                WriteCertificates(writer, listener.Name, "trust_bundle", trustDomain, file, now);
            }
        }

        writer.WriteEndArray();
        if (_server.ReloadStatus is { } reload)
        {
            writer.WriteStartObject("reload");
            writer.WriteNumber("successes", reload.Successes);
            writer.WriteNumber("failures", reload.Failures);
            if (reload.LastAttempt is { } attempt)
            {
                writer.WriteString("last_attempt", attempt);
            }

            if (reload.LastSuccess is { } last)
            {
                writer.WriteString("last_success", last);
            }

            writer.WriteStartArray("last_errors");
            foreach (var error in reload.LastErrors)
            {
                writer.WriteStringValue(error);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var audit = _server.AuditPipeline;
        writer.WriteStartObject("audit");
        writer.WriteNumber("enqueued", audit.Enqueued);
        writer.WriteNumber("written", audit.Written);
        writer.WriteNumber("dropped", audit.Dropped);
        writer.WriteNumber("sink_errors", audit.SinkErrors);
        writer.WriteEndObject();
        writer.WriteStartObject("console");
        writer.WriteNumber("decisions_seen", _feed.Published);
        writer.WriteNumber("live_streams", _feed.Subscribers);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Subject and expiry of each certificate in a PEM file (public material only; never a key).</summary>
    private static void WriteCertificates(Utf8JsonWriter writer, string listener, string role, string trustDomain, string file, DateTimeOffset now)
    {
        writer.WriteStartObject();
        writer.WriteString("listener", listener);
        writer.WriteString("role", role);
        if (trustDomain.Length > 0)
        {
            writer.WriteString("trust_domain", trustDomain);
        }

        writer.WriteString("file", file);
        try
        {
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(file);
            writer.WriteNumber("count", certificates.Count);
            if (certificates.Count > 0)
            {
                var earliest = certificates.MinBy(c => c.NotAfter)!;
                writer.WriteString("subject", earliest.Subject);
                writer.WriteString("not_after", new DateTimeOffset(earliest.NotAfter.ToUniversalTime()));
                writer.WriteNumber("days_left", Math.Floor((earliest.NotAfter.ToUniversalTime() - now.UtcDateTime).TotalDays));
            }

            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            writer.WriteString("error", ex.Message);
        }

        writer.WriteEndObject();
    }

    private static void WriteRecords(Utf8JsonWriter writer, IEnumerable<AuditRecord> records)
    {
        writer.WriteStartArray();
        foreach (var record in records)
        {
            record.WriteTo(writer);
        }

        writer.WriteEndArray();
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext context, string message) =>
        WriteJsonAsync(context, writer =>
        {
            context.Response.StatusCode = 400;
            writer.WriteStartObject();
            writer.WriteString("error", message);
            writer.WriteEndObject();
        });

    private static Task MethodNotAllowedAsync(HttpContext context, string allow)
    {
        context.Response.Headers.Allow = allow;
        return WriteTextAsync(context, 405, "method not allowed\n");
    }

    private static Task WriteTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return text.Length == 0 ? Task.CompletedTask : context.Response.WriteAsync(text, context.RequestAborted);
    }

    private static byte[] Asset(string name) => AssetCache.GetOrAdd(name, static n =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Gatehouse.Console." + n)
            ?? throw new InvalidOperationException($"console asset {n} is not embedded (a build error)");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });
}
