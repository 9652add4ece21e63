namespace Gatehouse.Tokens;

/// <summary>A snapshot of an issuer's key lifecycle, for metrics and the admin endpoints.</summary>
public sealed record KeyState
{
    /// <summary>The state of an issuer that has no JWKS (introspection-only or HMAC-only).</summary>
    public static readonly KeyState NotApplicable = new() { Source = "none" };

    /// <summary><c>file</c>, <c>jwks_uri</c>, <c>discovery</c> or <c>none</c>.</summary>
    public required string Source { get; init; }

    /// <summary>When keys were last loaded successfully.</summary>
    public DateTimeOffset? LastSuccessfulFetch { get; init; }

    /// <summary>When the last failed attempt happened.</summary>
    public DateTimeOffset? LastFailureAt { get; init; }

    /// <summary>Why the last attempt failed (null when the last attempt succeeded).</summary>
    public string? LastFailure { get; init; }

    /// <summary>Usable keys in the current set.</summary>
    public int KeyCount { get; init; }

    /// <summary>The last refresh failed and last-good keys are being served (stale-if-error).</summary>
    public bool IsStale { get; init; }

    /// <summary>Keys are older than <c>max_stale</c> (or were never loaded): requests get 503.</summary>
    public bool IsExpired { get; init; }

    /// <summary>Time since <see cref="LastSuccessfulFetch"/>.</summary>
    public TimeSpan? Age { get; init; }
}
