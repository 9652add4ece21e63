
namespace Gatehouse.Model;

/// <summary>The outcome of a decision.</summary>
public enum DecisionOutcome
{
    Allow,
    Deny,
}

/// <summary>
/// The engine's answer for one request: outcome, HTTP status, machine reasons, what matched, and what to send
/// upstream. Hosts translate it (gateway: forward or respond; ext_authz: OkHttpResponse / DeniedHttpResponse).
/// </summary>
public sealed class Decision
{
    public required DecisionOutcome Outcome { get; init; }
    /// <summary>200 for allow; 400, 401, 403, 404, 503 for a denial.</summary>
    public required int StatusCode { get; init; }
    /// <summary>Reason codes (<see cref="ReasonCodes"/>), most decisive first.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }
    /// <summary>The <c>WWW-Authenticate</c> challenge for 401/403 (RFC 6750 §3), or null.</summary>
    public string? Challenge { get; init; }
    /// <summary>The matched route's name; a host that forwards resolves the compiled route on the snapshot it decided on
    /// (<c>GatehouseSnapshot.Route</c>), so this vocabulary type depends on nothing.</summary>
    public string? RouteName { get; init; }
    /// <summary>The normalized path that was matched and must be forwarded.</summary>
    public string? NormalizedPath { get; init; }
    /// <summary><c>policy/ruleN</c> that decided, when a policy decided.</summary>
    public string? DecidingPolicy { get; init; }
    public Principal? Principal { get; init; }
    /// <summary>Token facts safe to record (fingerprint, kid, jti, iss) — never the token.</summary>
    public TokenFacts? Token { get; init; }
    /// <summary>Headers to set on the upstream request (claim headers), already sanitized.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> UpstreamHeaders { get; init; } = [];
    /// <summary>Headers for the response to the client (a denial's <c>DPoP-Nonce</c>, RFC 9449 §8), already safe.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; init; } = [];
    /// <summary>Headers to remove from the upstream request (Authorization when not forwarded, spoofable claim headers).</summary>
    public IReadOnlyList<string> RemoveHeaders { get; init; } = [];
    /// <summary>Trace of each policy and rule considered (for explain and audit).</summary>
    public IReadOnlyList<PolicyTraceEntry> Trace { get; init; } = [];
    /// <summary>Dry-run and audit policies that matched (recorded, not enforced).</summary>
    public IReadOnlyList<string> Recorded { get; init; } = [];
    /// <summary>
    /// The transaction of the request when it carried a Txn-Token (verified, or refused with
    /// <see cref="TransactionFacts.Verified"/> false); null otherwise (docs/txn-tokens.md).
    /// </summary>
    public TransactionFacts? Transaction { get; init; }
    /// <summary>The earliest instant this decision stops being valid (token exp), for decision caches.</summary>
    public DateTimeOffset? ValidUntil { get; init; }

    public bool Allowed => Outcome == DecisionOutcome.Allow;
}

/// <summary>One line of the decision trace: a policy or rule, whether it matched, and why.</summary>
public sealed record PolicyTraceEntry(string Policy, string Action, int? Rule, bool Matched, string Detail, bool DryRun = false);

/// <summary>Token facts that are safe to log and audit.</summary>
public sealed record TokenFacts
{
    /// <summary>First 16 hex chars of SHA-256 of the token.</summary>
    public required string Fingerprint { get; init; }
    public string? Kid { get; init; }
    public string? Jti { get; init; }
    public string? Issuer { get; init; }
    public string? IssuerName { get; init; }
    public string? Algorithm { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>jwt or opaque.</summary>
    public string Kind { get; init; } = "jwt";
}
