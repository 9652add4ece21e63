using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Audit;

/// <summary>
/// One audit record: the decision made for one request, in schema version <see cref="CurrentSchemaVersion"/>
/// (docs/audit.md, schema/audit-record.schema.json). Serialized as one JSON line with snake_case names.
/// </summary>
/// <remarks>
/// Note: the record is built only from values that are safe to keep — there is no member that could hold a
/// token, an <c>Authorization</c> or <c>Cookie</c> header, a secret or a key. Strings that come from the
/// request or the token (kid, jti, subject, path…) are length-capped so a hostile request cannot bloat the
/// trail, and the query string, when included at all, has credential-like parameter values redacted.
/// </remarks>
public sealed record AuditRecord
{
    /// <summary>The schema version this type writes. Bumped only for incompatible changes (docs/audit.md).</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Strings from the request or token are cut to this many characters.</summary>
    internal const int MaxFieldLength = 512;

    /// <summary>Paths are cut to this many characters.</summary>
    internal const int MaxPathLength = 2048;

    private const int FingerprintLength = 16;

    /// <summary>When the decision was made (UTC, millisecond precision in JSON).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Always <see cref="CurrentSchemaVersion"/> for records built by this type.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>One of <see cref="AuditDecisions"/>: allow, deny, audit, dry_run.</summary>
    public required string Decision { get; init; }

    /// <summary>The HTTP status the decision maps to.</summary>
    public required int StatusCode { get; init; }

    /// <summary>Reason codes (<see cref="ReasonCodes"/>), most decisive first.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }

    /// <summary><c>policy/ruleN</c> that decided, when a policy decided.</summary>
    public string? Policy { get; init; }

    /// <summary>Dry-run and audit policies that matched (recorded, not enforced).</summary>
    public IReadOnlyList<string> Recorded { get; init; } = [];

    public string? Route { get; init; }
    public string? Listener { get; init; }
    public required string Method { get; init; }
    public required string Host { get; init; }

    /// <summary>The normalized path (the raw path when the request was rejected before normalization).</summary>
    public required string Path { get; init; }

    /// <summary>The query string with credential-like values redacted; null unless <c>audit.include_query</c>.</summary>
    public string? Query { get; init; }

    public string? SourceAddress { get; init; }

    /// <summary>Workload SPIFFE ID of the peer.</summary>
    public string? Workload { get; init; }

    public string? Subject { get; init; }
    public string? ClientId { get; init; }
    public string? Issuer { get; init; }

    /// <summary>Configured name of the issuer (<c>issuers.NAME</c>).</summary>
    public string? IssuerName { get; init; }

    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>
    /// The delegation chain (RFC 8693 §4.1 <c>act</c>), current actor first; empty when the token names no actor.
    /// Each actor's <c>sub</c>, <c>client_id</c> and <c>iss</c> are length-capped.
    /// </summary>
    public IReadOnlyList<Model.Actor> Actors { get; init; } = [];

    /// <summary>First 16 hex characters of SHA-256 of the token; never the token.</summary>
    public string? TokenFingerprint { get; init; }

    /// <summary>jwt or opaque.</summary>
    public string? TokenKind { get; init; }

    public string? Kid { get; init; }
    public string? Jti { get; init; }

    /// <summary>W3C trace id (32 lowercase hex characters).</summary>
    public string? TraceId { get; init; }

    /// <summary>
    /// The transaction (draft-ietf-oauth-transaction-tokens-10 <c>txn</c>): the verified Txn-Token's, else the one the
    /// host set on the request (a gateway that minted one); null only when the request is part of no transaction.
    /// </summary>
    public string? Txn { get; init; }

    /// <summary>True when <see cref="Txn"/> comes from a Txn-Token this hop refused (what it claimed, not a fact).</summary>
    public bool TxnUnverified { get; init; }

    /// <summary>The Txn-Token's requesting workloads (<c>req_wl</c>), oldest first; empty without a Txn-Token.</summary>
    public IReadOnlyList<string> RequestingWorkloads { get; init; } = [];

    /// <summary>The route the transaction started at (the Txn-Token's <c>tctx.route</c>).</summary>
    public string? TxnRoute { get; init; }

    /// <summary>Time spent deciding, in milliseconds.</summary>
    public double LatencyMs { get; init; }

    /// <summary>Records dropped (queue full) since the previously written record. Set by the pipeline.</summary>
    public long DroppedBefore { get; init; }

    /// <summary>Builds the record for one decision.</summary>
    /// <param name="decision">The engine's decision.</param>
    /// <param name="request">The request it was made for.</param>
    /// <param name="latency">Time spent deciding.</param>
    /// <param name="time">When the decision was made.</param>
    /// <param name="includeQuery">Whether to keep the (redacted) query string (<c>audit.include_query</c>).</param>
    public static AuditRecord Create(
        Decision decision, AuthorizationRequest request, TimeSpan latency, DateTimeOffset time, bool includeQuery)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(request);

        var principal = decision.Principal;
        var token = decision.Token;
        var transaction = decision.Transaction;
        return new AuditRecord
        {
            Time = time.ToUniversalTime(),
            Decision = AuditDecisions.From(decision),
            StatusCode = decision.StatusCode,
            Reasons = CapAll(decision.Reasons),
            Policy = Cap(decision.DecidingPolicy),
            Recorded = CapAll(decision.Recorded),
            Route = Cap(decision.RouteName),
            Listener = Cap(request.Listener),
            Method = Cap(request.Method) ?? "",
            Host = Cap(request.Host) ?? "",
            Path = Cap(decision.NormalizedPath ?? request.RawPath, MaxPathLength) ?? "",
            Query = includeQuery ? Cap(QueryRedactor.Redact(request.Query), MaxPathLength) : null,
            SourceAddress = request.SourceAddress?.ToString(),
            Workload = Cap(principal?.Workload ?? request.PeerIdentity),
            Subject = Cap(principal?.Subject),
            ClientId = Cap(principal?.ClientId),
            Issuer = Cap(token?.Issuer ?? principal?.Issuer),
            IssuerName = Cap(token?.IssuerName ?? principal?.IssuerName),
            Scopes = SortedScopes(principal),
            Actors = CappedActors(principal),
            TokenFingerprint = SafeFingerprint(token?.Fingerprint),
            TokenKind = token is null ? null : Cap(token.Kind),
            Kid = Cap(token?.Kid),
            Jti = Cap(token?.Jti),
            TraceId = SafeTraceId(request.TraceId) ?? CurrentTraceId(),
            Txn = Cap(transaction is { Verified: true } ? transaction.Id : request.TransactionId ?? transaction?.Id, 256),
            TxnUnverified = transaction is { Verified: false } && request.TransactionId is null,
            RequestingWorkloads = transaction is null ? [] : CapAll(transaction.RequestingWorkloads),
            TxnRoute = Cap(transaction?.Route),
            LatencyMs = Math.Round(latency.TotalMilliseconds, 3),
        };
    }

    /// <summary>Writes the record as one JSON object (no trailing newline).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString(Names.Time, FormatTime(Time));
        writer.WriteNumber(Names.SchemaVersion, SchemaVersion);
        writer.WriteString(Names.Decision, Decision);
        writer.WriteNumber(Names.Status, StatusCode);
        WriteArray(writer, Names.Reasons, Reasons);
        WriteOptional(writer, Names.Policy, Policy);
        if (Recorded.Count > 0)
        {
            WriteArray(writer, Names.Recorded, Recorded);
        }

        WriteOptional(writer, Names.Route, Route);
        WriteOptional(writer, Names.Listener, Listener);
        writer.WriteString(Names.Method, Method);
        writer.WriteString(Names.Host, Host);
        writer.WriteString(Names.Path, Path);
        WriteOptional(writer, Names.Query, Query);
        WriteOptional(writer, Names.SourceAddress, SourceAddress);
        WriteOptional(writer, Names.Workload, Workload);
        WriteOptional(writer, Names.Subject, Subject);
        WriteOptional(writer, Names.ClientId, ClientId);
        WriteOptional(writer, Names.Issuer, Issuer);
        WriteOptional(writer, Names.IssuerName, IssuerName);
        if (Scopes.Count > 0)
        {
            WriteArray(writer, Names.Scopes, Scopes);
        }

        if (Actors.Count > 0)
        {
            writer.WriteStartArray(Names.Actors);
            foreach (var actor in Actors)
            {
                writer.WriteStartObject();
                WriteOptional(writer, Names.ActorSubject, actor.Subject);
                WriteOptional(writer, Names.ClientId, actor.ClientId);
                WriteOptional(writer, Names.ActorIssuer, actor.Issuer);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        WriteOptional(writer, Names.TokenFingerprint, TokenFingerprint);
        WriteOptional(writer, Names.TokenKind, TokenKind);
        WriteOptional(writer, Names.Kid, Kid);
        WriteOptional(writer, Names.Jti, Jti);
        WriteOptional(writer, Names.TraceId, TraceId);
        WriteOptional(writer, Names.Txn, Txn);
        if (TxnUnverified && Txn is not null)
        {
            writer.WriteBoolean(Names.TxnUnverified, true);
        }

        if (RequestingWorkloads.Count > 0)
        {
            WriteArray(writer, Names.RequestingWorkloads, RequestingWorkloads);
        }

        WriteOptional(writer, Names.TxnRoute, TxnRoute);
        writer.WriteNumber(Names.LatencyMs, LatencyMs);
        writer.WriteNumber(Names.DroppedBefore, DroppedBefore);
        writer.WriteEndObject();
    }

    /// <summary>The record as one JSON line, without the trailing newline (tests, <c>explain --json</c>).</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Writer options for audit lines: compact, and escaping HTML-sensitive characters so a line pasted into a
    /// web page or a log viewer cannot inject markup.
    /// </summary>
    internal static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    internal static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteOptional(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteArray(Utf8JsonWriter writer, JsonEncodedText name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        for (var i = 0; i < values.Count; i++)
        {
            writer.WriteStringValue(values[i]);
        }

        writer.WriteEndArray();
    }

    private static string? Cap(string? value, int max = MaxFieldLength) =>
        value is null || value.Length <= max ? value : value[..max];

    private static string[] CapAll(IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return [];
        }

        var result = new string[values.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Cap(values[i]) ?? "";
        }

        return result;
    }

    private static string[] SortedScopes(Model.Principal? principal)
    {
        if (principal is null || principal.Scopes.Count == 0)
        {
            return [];
        }

        // Note: sorted so that identical grants produce identical lines (diffable, summarizable).
        var scopes = new string[principal.Scopes.Count];
        var i = 0;
        foreach (var scope in principal.Scopes)
        {
            scopes[i++] = Cap(scope, 256) ?? "";
        }

        Array.Sort(scopes, StringComparer.Ordinal);
        return scopes;
    }

    private static Model.Actor[] CappedActors(Model.Principal? principal)
    {
        var actors = principal?.Delegation.Actors;
        if (actors is null || actors.Count == 0)
        {
            return [];
        }

        var result = new Model.Actor[actors.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var actor = actors[i];
            result[i] = new Model.Actor(Cap(actor.Subject), Cap(actor.ClientId), Cap(actor.Issuer));
        }

        return result;
    }

    /// <summary>
    /// Only a hex SHA-256 prefix is accepted: a fingerprint that is anything else (a bug upstream passing the
    /// token itself) is dropped rather than written.
    /// </summary>
    internal static string? SafeFingerprint(string? fingerprint)
    {
        if (fingerprint is null || fingerprint.Length < 8 || fingerprint.Length > 64 || !IsLowerHex(fingerprint))
        {
            return null;
        }

        return fingerprint.Length > FingerprintLength ? fingerprint[..FingerprintLength] : fingerprint;
    }

    /// <summary>A W3C trace id is 32 lowercase hex characters, not all zero (W3C Trace Context §3.2.2.3).</summary>
    internal static string? SafeTraceId(string? traceId)
    {
        if (traceId is null || traceId.Length != 32 || !IsLowerHex(traceId) || traceId.AsSpan().IndexOfAnyExcept('0') < 0)
        {
            return null;
        }

        return traceId;
    }

    private static string? CurrentTraceId()
    {
        var activity = Activity.Current;
        return activity is { IdFormat: ActivityIdFormat.W3C } ? activity.TraceId.ToHexString() : null;
    }

    private static bool IsLowerHex(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Property names, pre-encoded once.</summary>
    internal static class Names
    {
        public static readonly JsonEncodedText Time = JsonEncodedText.Encode("time");
        public static readonly JsonEncodedText SchemaVersion = JsonEncodedText.Encode("schema_version");
        public static readonly JsonEncodedText Decision = JsonEncodedText.Encode("decision");
        public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
        public static readonly JsonEncodedText Reasons = JsonEncodedText.Encode("reasons");
        public static readonly JsonEncodedText Policy = JsonEncodedText.Encode("policy");
        public static readonly JsonEncodedText Recorded = JsonEncodedText.Encode("recorded");
        public static readonly JsonEncodedText Route = JsonEncodedText.Encode("route");
        public static readonly JsonEncodedText Listener = JsonEncodedText.Encode("listener");
        public static readonly JsonEncodedText Method = JsonEncodedText.Encode("method");
        public static readonly JsonEncodedText Host = JsonEncodedText.Encode("host");
        public static readonly JsonEncodedText Path = JsonEncodedText.Encode("path");
        public static readonly JsonEncodedText Query = JsonEncodedText.Encode("query");
        public static readonly JsonEncodedText SourceAddress = JsonEncodedText.Encode("source_address");
        public static readonly JsonEncodedText Workload = JsonEncodedText.Encode("workload");
        public static readonly JsonEncodedText Subject = JsonEncodedText.Encode("subject");
        public static readonly JsonEncodedText ClientId = JsonEncodedText.Encode("client_id");
        public static readonly JsonEncodedText Issuer = JsonEncodedText.Encode("issuer");
        public static readonly JsonEncodedText IssuerName = JsonEncodedText.Encode("issuer_name");
        public static readonly JsonEncodedText Scopes = JsonEncodedText.Encode("scopes");
        public static readonly JsonEncodedText Actors = JsonEncodedText.Encode("actors");
        public static readonly JsonEncodedText ActorSubject = JsonEncodedText.Encode("sub");
        public static readonly JsonEncodedText ActorIssuer = JsonEncodedText.Encode("iss");
        public static readonly JsonEncodedText TokenFingerprint = JsonEncodedText.Encode("token_fingerprint");
        public static readonly JsonEncodedText TokenKind = JsonEncodedText.Encode("token_kind");
        public static readonly JsonEncodedText Kid = JsonEncodedText.Encode("kid");
        public static readonly JsonEncodedText Jti = JsonEncodedText.Encode("jti");
        public static readonly JsonEncodedText TraceId = JsonEncodedText.Encode("trace_id");
        public static readonly JsonEncodedText Txn = JsonEncodedText.Encode("txn");
        public static readonly JsonEncodedText TxnUnverified = JsonEncodedText.Encode("txn_unverified");
        public static readonly JsonEncodedText RequestingWorkloads = JsonEncodedText.Encode("req_wl");
        public static readonly JsonEncodedText TxnRoute = JsonEncodedText.Encode("txn_route");
        public static readonly JsonEncodedText LatencyMs = JsonEncodedText.Encode("latency_ms");
        public static readonly JsonEncodedText DroppedBefore = JsonEncodedText.Encode("dropped_before");
    }
}

/// <summary>The values of the audit record's <c>decision</c> field.</summary>
public static class AuditDecisions
{
    /// <summary>Allowed by an enforcing policy (or a public route).</summary>
    public const string Allow = "allow";

    /// <summary>Denied; the request did not reach the upstream.</summary>
    public const string Deny = "deny";

    /// <summary>Allowed, and an AUDIT policy matched: recorded for review.</summary>
    public const string Audit = "audit";

    /// <summary>Allowed only because the denying policy is in dry-run.</summary>
    public const string DryRun = "dry_run";

    /// <summary>Maps a decision to its audit kind. Deny wins; then dry-run deny; then audit; else allow.</summary>
    public static string From(Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (!decision.Allowed)
        {
            return Deny;
        }

        var audit = false;
        foreach (var reason in decision.Reasons)
        {
            if (HasCode(reason, ReasonCodes.PolicyDryRunDeny))
            {
                return DryRun;
            }

            audit |= HasCode(reason, ReasonCodes.PolicyAuditMatched);
        }

        return audit ? Audit : Allow;
    }

    /// <summary>True when <paramref name="reason"/> is <paramref name="code"/> or <c>code:detail</c>.</summary>
    internal static bool HasCode(string reason, string code) =>
        reason.StartsWith(code, StringComparison.Ordinal) && (reason.Length == code.Length || reason[code.Length] == ':');
}
