namespace Gatehouse.Outbound;

/// <summary>How a token-endpoint call ended.</summary>
public enum TokenEndpointOutcome
{
    /// <summary>A token was issued (RFC 6749 §5.1, RFC 8693 §2.2.1).</summary>
    Issued,
    /// <summary>The authorization server refused with an error response (RFC 6749 §5.2).</summary>
    Refused,
    /// <summary>No answer that can be used: network error, timeout, open circuit, 5xx, malformed body.</summary>
    Unavailable,
}

/// <summary>A token issued by a token endpoint. The token itself is never logged: only <see cref="Fingerprint"/>.</summary>
public sealed class IssuedToken
{
    public required string AccessToken { get; init; }
    /// <summary>The first 16 hex characters of SHA-256 of the token.</summary>
    public required string Fingerprint { get; init; }
    /// <summary>When the token stops being valid (from <c>expires_in</c>, else the JWT <c>exp</c>).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>The granted scope when the server named it (RFC 6749 §5.1).</summary>
    public string? Scope { get; init; }
    /// <summary>RFC 8693 §2.2.1 <c>issued_token_type</c>, for exchanges.</summary>
    public string? IssuedTokenType { get; init; }
}

/// <summary>The result of one token-endpoint call (a value: nothing on this path throws for a bad answer).</summary>
public readonly record struct TokenEndpointResult
{
    public TokenEndpointOutcome Outcome { get; init; }
    public IssuedToken? Token { get; init; }
    /// <summary>RFC 6749 §5.2 <c>error</c> of a refusal, reduced to a safe code (<c>invalid_grant</c>, …).</summary>
    public string? Error { get; init; }
    /// <summary>A short description safe to log (never a token or a secret).</summary>
    public string? Detail { get; init; }

    public static TokenEndpointResult Issued(IssuedToken token) => new() { Outcome = TokenEndpointOutcome.Issued, Token = token };

    public static TokenEndpointResult Refused(string error, string? detail) => new() { Outcome = TokenEndpointOutcome.Refused, Error = error, Detail = detail };

    public static TokenEndpointResult Unavailable(string detail) => new() { Outcome = TokenEndpointOutcome.Unavailable, Detail = detail };
}
