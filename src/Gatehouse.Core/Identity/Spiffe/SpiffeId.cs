using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.Identity.Spiffe;

/// <summary>
/// A validated SPIFFE ID (SPIFFE-ID spec, <c>spiffe://trust-domain/path</c>). Immutable; equality is ordinal on the
/// canonical string. Construct with <see cref="TryParse(string?, out SpiffeId?, out string?)"/> or
/// <see cref="FromParts"/>: bad input is reported as a value, never as an exception.
/// </summary>
public sealed class SpiffeId : IEquatable<SpiffeId>
{
    /// <summary>The URI scheme, lower case (SPIFFE-ID §2.1).</summary>
    public const string Scheme = "spiffe";

    /// <summary>Maximum length of a SPIFFE ID in bytes (SPIFFE-ID §2.3).</summary>
    public const int MaxLength = 2048;

    /// <summary>Maximum length of a trust domain name in bytes (SPIFFE-ID §2.3).</summary>
    public const int MaxTrustDomainLength = 255;

    private const string Prefix = "spiffe://";

    private SpiffeId(string value, string trustDomain, string path)
    {
        Value = value;
        TrustDomain = trustDomain;
        Path = path;
        (Namespace, ServiceAccount) = ParseKubernetes(path);
    }

    /// <summary>The full ID, e.g. <c>spiffe://cluster.local/ns/shop/sa/checkout</c>.</summary>
    public string Value { get; }

    /// <summary>The trust domain name, e.g. <c>cluster.local</c> (always lower case).</summary>
    public string TrustDomain { get; }

    /// <summary>The path including its leading <c>/</c>, or an empty string for the trust domain's own ID.</summary>
    public string Path { get; }

    /// <summary>Kubernetes namespace when the path is exactly <c>/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c> (Istio convention); else null.</summary>
    public string? Namespace { get; }

    /// <summary>Kubernetes service account when the path is exactly <c>/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>; else null.</summary>
    public string? ServiceAccount { get; }

    /// <summary>The ID of the trust domain itself (<c>spiffe://td</c>).</summary>
    public SpiffeId TrustDomainId => Path.Length == 0 ? this : new SpiffeId(Prefix + TrustDomain, TrustDomain, "");

    /// <summary>Parses and validates a SPIFFE ID.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out SpiffeId? id) => TryParse(value, out id, out _);

    /// <summary>
    /// Parses and validates a SPIFFE ID. On failure <paramref name="error"/> is a short machine-readable reason
    /// (see <see cref="SpiffeIdErrors"/>).
    /// </summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out SpiffeId? id, [NotNullWhen(false)] out string? error)
    {
        id = null;
        if (string.IsNullOrEmpty(value))
        {
            error = SpiffeIdErrors.Empty;
            return false;
        }

        // SPIFFE-ID §2.3: at most 2048 bytes. Every valid character is ASCII, so chars == bytes for valid input;
        // any non-ASCII character fails the character checks below anyway.
        if (value.Length > MaxLength)
        {
            error = SpiffeIdErrors.TooLong;
            return false;
        }

        // SPIFFE-ID §2.1 / §2.4: the scheme is "spiffe" and is followed by "//" (an authority is required).
        if (!value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = value.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? SpiffeIdErrors.SchemeNotLowerCase : SpiffeIdErrors.WrongScheme;
            return false;
        }

        var rest = value.AsSpan(Prefix.Length);
        var slash = rest.IndexOf('/');
        var trustDomain = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? [] : rest[slash..];

        if (!ValidateTrustDomain(trustDomain, out error))
        {
            return false;
        }

        if (!ValidatePath(path, out error))
        {
            return false;
        }

        id = new SpiffeId(value, trustDomain.ToString(), path.ToString());
        return true;
    }

    /// <summary>Builds an ID from a trust domain and a path (<c>""</c> or starting with <c>/</c>), validating both.</summary>
    public static bool TryFromParts(string trustDomain, string path, [NotNullWhen(true)] out SpiffeId? id, [NotNullWhen(false)] out string? error)
        => TryParse(Prefix + trustDomain + path, out id, out error);

    /// <summary>Builds an ID from parts that are known to be valid (for example constants in tests).</summary>
    /// <exception cref="ArgumentException">The parts do not form a valid SPIFFE ID.</exception>
    public static SpiffeId FromParts(string trustDomain, string path)
        => TryFromParts(trustDomain, path, out var id, out var error) ? id : throw new ArgumentException($"Invalid SPIFFE ID: {error}", nameof(trustDomain));

    /// <summary>Parses an ID that is known to be valid (constants, tests).</summary>
    /// <exception cref="ArgumentException">The value is not a valid SPIFFE ID.</exception>
    public static SpiffeId Parse(string value)
        => TryParse(value, out var id, out var error) ? id : throw new ArgumentException($"Invalid SPIFFE ID: {error}", nameof(value));

    /// <summary>Validates a trust domain name on its own (SPIFFE-ID §2.1).</summary>
    public static bool IsValidTrustDomain(string? trustDomain)
        => trustDomain is not null && ValidateTrustDomain(trustDomain, out _);

    /// <summary>True when this ID belongs to <paramref name="trustDomain"/> (compared ordinally; names are lower case).</summary>
    public bool IsMemberOf(string trustDomain) => string.Equals(TrustDomain, trustDomain, StringComparison.Ordinal);

    /// <inheritdoc />
    public bool Equals(SpiffeId? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SpiffeId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <inheritdoc />
    public override string ToString() => Value;

    public static bool operator ==(SpiffeId? left, SpiffeId? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(SpiffeId? left, SpiffeId? right) => !(left == right);

    private static bool ValidateTrustDomain(ReadOnlySpan<char> trustDomain, [NotNullWhen(false)] out string? error)
    {
        if (trustDomain.IsEmpty)
        {
            error = SpiffeIdErrors.TrustDomainEmpty;
            return false;
        }

        if (trustDomain.Length > MaxTrustDomainLength)
        {
            error = SpiffeIdErrors.TrustDomainTooLong;
            return false;
        }

        foreach (var c in trustDomain)
        {
            // SPIFFE-ID §2.1: lower-case letters, digits, dots, dashes and underscores only. This also rules out a
            // port (':'), userinfo ('@'), a query ('?') and a fragment ('#') in the authority.
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_')
            {
                continue;
            }

            error = c switch
            {
                ':' => SpiffeIdErrors.PortNotAllowed,
                '@' => SpiffeIdErrors.UserInfoNotAllowed,
                '?' => SpiffeIdErrors.QueryNotAllowed,
                '#' => SpiffeIdErrors.FragmentNotAllowed,
                >= 'A' and <= 'Z' => SpiffeIdErrors.TrustDomainNotLowerCase,
                _ => SpiffeIdErrors.TrustDomainInvalidCharacter,
            };
            return false;
        }

        error = null;
        return true;
    }

    private static bool ValidatePath(ReadOnlySpan<char> path, [NotNullWhen(false)] out string? error)
    {
        error = null;
        if (path.IsEmpty)
        {
            return true;
        }

        // SPIFFE-ID §2.2: "/"-separated segments; no empty segment (so no "//" and no trailing "/"), no "." or "..",
        // and each segment made of [A-Za-z0-9.-_]. Percent-encoding is not allowed.
        foreach (var range in path[1..].Split('/'))
        {
            var segment = path[1..][range];
            if (segment.IsEmpty)
            {
                error = range.Start.Value == path.Length - 1 ? SpiffeIdErrors.TrailingSlash : SpiffeIdErrors.EmptySegment;
                return false;
            }

            if (segment is "." || segment is "..")
            {
                error = SpiffeIdErrors.DotSegment;
                return false;
            }

            foreach (var c in segment)
            {
                if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_')
                {
                    continue;
                }

                error = c switch
                {
                    '?' => SpiffeIdErrors.QueryNotAllowed,
                    '#' => SpiffeIdErrors.FragmentNotAllowed,
                    _ => SpiffeIdErrors.PathInvalidCharacter,
                };
                return false;
            }
        }

        return true;
    }

    private static (string? Namespace, string? ServiceAccount) ParseKubernetes(string path)
    {
        // Istio / SPIRE k8s convention: spiffe://<td>/ns/<namespace>/sa/<service-account>, exactly four segments.
        var parts = path.Split('/');
        return parts.Length == 5 && parts[0].Length == 0 && parts[1] == "ns" && parts[3] == "sa"
            ? (parts[2], parts[4])
            : (null, null);
    }
}

/// <summary>Reasons <see cref="SpiffeId.TryParse(string?, out SpiffeId?, out string?)"/> gives for rejecting input.</summary>
public static class SpiffeIdErrors
{
    public const string Empty = "empty";
    public const string TooLong = "too_long";
    public const string WrongScheme = "scheme_not_spiffe";
    public const string SchemeNotLowerCase = "scheme_not_lower_case";
    public const string TrustDomainEmpty = "trust_domain_empty";
    public const string TrustDomainTooLong = "trust_domain_too_long";
    public const string TrustDomainNotLowerCase = "trust_domain_not_lower_case";
    public const string TrustDomainInvalidCharacter = "trust_domain_invalid_character";
    public const string PortNotAllowed = "port_not_allowed";
    public const string UserInfoNotAllowed = "userinfo_not_allowed";
    public const string QueryNotAllowed = "query_not_allowed";
    public const string FragmentNotAllowed = "fragment_not_allowed";
    public const string EmptySegment = "path_empty_segment";
    public const string TrailingSlash = "path_trailing_slash";
    public const string DotSegment = "path_dot_segment";
    public const string PathInvalidCharacter = "path_invalid_character";
}
