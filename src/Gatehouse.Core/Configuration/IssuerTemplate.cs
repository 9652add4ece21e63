namespace Gatehouse.Configuration;

/// <summary>
/// An issuer with a <c>{tenantid}</c> path segment. Microsoft Entra ID's multi-tenant endpoints
/// (<c>/organizations</c>, <c>/common</c>) publish the issuer <c>https://login.microsoftonline.com/{tenantid}/v2.0</c>
/// in their discovery document, while every token carries its own tenant there and in <c>tid</c>. A token matches
/// when its <c>iss</c> is the template with a tenant of the allow-list in place of <c>{tenantid}</c>; its <c>tid</c>
/// claim must name the same tenant (checked after the signature, see <see cref="TenantClaim"/>).
/// </summary>
public sealed class IssuerTemplate
{
    /// <summary>The placeholder, as Entra's discovery documents write it.</summary>
    public const string Placeholder = "{tenantid}";

    /// <summary>The allow-list entry that accepts every tenant (multi-tenant applications).</summary>
    public const string AnyTenant = "*";

    /// <summary>The claim that names the token's tenant (Entra ID access and ID tokens).</summary>
    public const string TenantClaim = "tid";

    private readonly string _prefix;
    private readonly string _suffix;
    private readonly HashSet<string>? _tenants;

    private IssuerTemplate(string prefix, string suffix, HashSet<string>? tenants)
    {
        _prefix = prefix;
        _suffix = suffix;
        _tenants = tenants;
    }

    /// <summary>True when <paramref name="issuer"/> contains the placeholder.</summary>
    public static bool IsTemplate(string issuer) => issuer.Contains(Placeholder, StringComparison.Ordinal);

    /// <summary>Why <paramref name="issuer"/> is not a usable template, or null when it is.</summary>
    public static string? Problem(string issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        var at = issuer.IndexOf(Placeholder, StringComparison.Ordinal);
        if (at < 0)
        {
            return "no " + Placeholder + " placeholder";
        }

        if (issuer.IndexOf(Placeholder, at + 1, StringComparison.Ordinal) >= 0)
        {
            return Placeholder + " may appear only once";
        }

        var end = at + Placeholder.Length;
        if (at == 0 || issuer[at - 1] != '/' || (end < issuer.Length && issuer[end] != '/'))
        {
            return Placeholder + " must be a whole path segment, e.g. https://login.microsoftonline.com/{tenantid}/v2.0";
        }

        if (!issuer.StartsWith("https://", StringComparison.Ordinal) || issuer.IndexOf('/', "https://".Length) is var slash && (slash < 0 || slash >= at))
        {
            return "a templated issuer must be an https URL with " + Placeholder + " in its path";
        }

        return null;
    }

    /// <summary>Why <paramref name="tenant"/> is not an allow-list entry, or null when it is.</summary>
    public static string? TenantProblem(string tenant) =>
        tenant == AnyTenant || IsCanonicalTenantId(tenant)
            ? null
            : $"'{tenant}' is not a tenant id: Entra tenant ids are GUIDs in lower case (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), or '{AnyTenant}' for any tenant";

    /// <summary>Builds the matcher. The template must have passed <see cref="Problem"/>; tenants <see cref="TenantProblem"/>.</summary>
    public static IssuerTemplate Create(string issuer, IReadOnlyList<string> tenants)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(tenants);
        if (Problem(issuer) is { } problem)
        {
            throw new ArgumentException(problem, nameof(issuer));
        }

        var at = issuer.IndexOf(Placeholder, StringComparison.Ordinal);
        var any = tenants.Contains(AnyTenant, StringComparer.Ordinal);
        return new IssuerTemplate(issuer[..at], issuer[(at + Placeholder.Length)..], any ? null : new HashSet<string>(tenants, StringComparer.Ordinal));
    }

    /// <summary>True when <paramref name="iss"/> is this template with an allowed tenant in it.</summary>
    public bool TryMatch(string? iss, out string tenant)
    {
        tenant = "";
        if (iss is null || iss.Length <= _prefix.Length + _suffix.Length
            || !iss.StartsWith(_prefix, StringComparison.Ordinal) || !iss.EndsWith(_suffix, StringComparison.Ordinal))
        {
            return false;
        }

        var candidate = iss[_prefix.Length..^_suffix.Length];
        // Note: only a canonical GUID can stand in for the tenant, so "a/b" or "%2F" can never stretch the match.
        if (!IsCanonicalTenantId(candidate) || (_tenants is not null && !_tenants.Contains(candidate)))
        {
            return false;
        }

        tenant = candidate;
        return true;
    }

    private static bool IsCanonicalTenantId(string value) =>
        value.Length == 36 && Guid.TryParseExact(value, "D", out var guid) && string.Equals(guid.ToString("D"), value, StringComparison.Ordinal);
}
