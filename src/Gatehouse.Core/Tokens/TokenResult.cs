using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Tokens;

/// <summary>The outcome of <see cref="TokenAuthenticator.AuthenticateAsync"/>: success or failure as a value.</summary>
public readonly struct TokenResult
{
    private TokenResult(ValidatedToken? token, string? reason, string? detail, bool unavailable, TokenFacts? facts)
    {
        Token = token;
        Reason = reason;
        Detail = detail;
        Unavailable = unavailable;
        Facts = facts;
    }

    /// <summary>True when the token was validated.</summary>
    public bool Succeeded => Token is not null;

    /// <summary>The validated token, on success.</summary>
    public ValidatedToken? Token { get; }

    /// <summary>A <see cref="ReasonCodes"/> constant, on failure.</summary>
    public string? Reason { get; }

    /// <summary>Human text safe to show (never the token).</summary>
    public string? Detail { get; }

    /// <summary>Keys or introspection unavailable: the host answers 503, never 401 and never an allow.</summary>
    public bool Unavailable { get; }

    /// <summary>Fingerprint, kid, jti, iss when known (also on failure).</summary>
    public TokenFacts? Facts { get; }

    /// <summary>A success.</summary>
    public static TokenResult Success(ValidatedToken token) => new(token, null, null, false, token.Facts);

    /// <summary>A rejection (401).</summary>
    public static TokenResult Fail(string reason, string detail, TokenFacts? facts) => new(null, reason, detail, false, facts);

    /// <summary>Keys or introspection unavailable (503).</summary>
    public static TokenResult Unavailability(string reason, string detail, TokenFacts? facts) => new(null, reason, detail, true, facts);

    /// <inheritdoc />
    public override string ToString() => Succeeded ? $"ok {Facts?.Fingerprint}" : $"{Reason}{(Unavailable ? " (unavailable)" : "")}: {Detail}";
}

/// <summary>A token that passed every check. Immutable; shared by cache hits.</summary>
public sealed class ValidatedToken
{
    /// <summary>Facts safe to log and audit.</summary>
    public required TokenFacts Facts { get; init; }

    /// <summary>The issuer that validated it.</summary>
    public required IssuerRuntime Issuer { get; init; }

    /// <summary>JWT payload or introspection response (a cloned, immutable element).</summary>
    public required JsonElement Claims { get; init; }

    /// <summary>The token's <c>exp</c> (for introspection without <c>exp</c>: the end of the cache entry).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary><c>cnf.x5t#S256</c> (RFC 8705 §3.1), when present.</summary>
    public string? ConfirmationThumbprint { get; init; }

    // The principal built from these claims by the issuer's profile (no workload): immutable, so it is built once
    // per verified token and reused on every cache hit instead of re-parsing scopes and roles per request. A benign
    // race may build it twice; both results are equal.
    private Model.Principal? _principal;

    /// <summary>The principal of this token through <paramref name="build"/>, built once and cached.</summary>
    public Model.Principal GetPrincipal(Func<ValidatedToken, Model.Principal> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        return Volatile.Read(ref _principal) ?? Interlocked.CompareExchange(ref _principal, build(this), null) ?? _principal!;
    }
}
