namespace Gatehouse.Outbound;

/// <summary>Why no token could be attached.</summary>
public enum OutboundTokenFailure
{
    None,
    /// <summary>Exchange mode and the app sent no bearer token.</summary>
    SubjectMissing,
    /// <summary>The authorization server refused (RFC 6749 §5.2 error in <see cref="OutboundTokenResult.Error"/>).</summary>
    Refused,
    /// <summary>No token could be had: endpoint down, circuit open, unusable answer, unreadable secret.</summary>
    Unavailable,
}

/// <summary>The token to attach to one upstream request, or why there is none.</summary>
public readonly record struct OutboundTokenResult
{
    public string? Token { get; init; }
    /// <summary>SHA-256 fingerprint prefix of <see cref="Token"/> (safe to log and audit).</summary>
    public string? Fingerprint { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
    public OutboundTokenFailure Failure { get; init; }
    /// <summary>The RFC 6749 §5.2 error code of a refusal.</summary>
    public string? Error { get; init; }
    public string? Detail { get; init; }
    /// <summary>Served from the cache (no token-endpoint call on this request).</summary>
    public bool FromCache { get; init; }

    public bool Succeeded => Failure == OutboundTokenFailure.None && Token is not null;

    internal static OutboundTokenResult From(IssuedToken token, bool fromCache) =>
        new() { Token = token.AccessToken, Fingerprint = token.Fingerprint, ExpiresAt = token.ExpiresAt, FromCache = fromCache };

    internal static OutboundTokenResult From(TokenEndpointResult result) => result.Outcome switch
    {
        TokenEndpointOutcome.Issued => From(result.Token!, fromCache: false),
        TokenEndpointOutcome.Refused => new() { Failure = OutboundTokenFailure.Refused, Error = result.Error, Detail = result.Detail },
        _ => new() { Failure = OutboundTokenFailure.Unavailable, Detail = result.Detail },
    };
}
