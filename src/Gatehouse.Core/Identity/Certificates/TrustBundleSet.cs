using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Identity.Certificates;

/// <summary>
/// The X.509 trust anchors Gatehouse accepts, per SPIFFE trust domain (SPIFFE Trust Domain and Bundle spec §4: a
/// peer's chain is verified against the bundle of the trust domain named in its SPIFFE ID, and only that bundle).
/// An optional "any trust domain" bundle (<c>tls.client_ca</c>) serves trust domains that have no bundle of their
/// own. Immutable: a reload builds a new set.
/// </summary>
public sealed class TrustBundleSet
{
    private readonly Dictionary<string, X509Certificate2Collection> _bundles;
    private readonly Dictionary<string, FederatedBundleSource> _federated;

    /// <summary>An empty set: trusts nothing.</summary>
    public static TrustBundleSet Empty { get; } = new(new Dictionary<string, X509Certificate2Collection>(), null);

    /// <summary>Creates a set from already loaded bundles.</summary>
    /// <param name="bundles">Trust domain name → its root (and optionally intermediate) certificates.</param>
    /// <param name="anyTrustDomain">Anchors used for trust domains that have no entry in <paramref name="bundles"/>; null for none.</param>
    /// <param name="federated">
    /// Trust domain name → its federation bundle endpoint source (SPIFFE bundle spec §5); its current bundle is read
    /// at each lookup. A trust domain is in <paramref name="bundles"/> or here, not both (bundles win).
    /// </param>
    public TrustBundleSet(IReadOnlyDictionary<string, X509Certificate2Collection> bundles, X509Certificate2Collection? anyTrustDomain,
        IReadOnlyDictionary<string, FederatedBundleSource>? federated = null)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        _bundles = new Dictionary<string, X509Certificate2Collection>(StringComparer.Ordinal);
        foreach (var (trustDomain, collection) in bundles)
        {
            _bundles[trustDomain] = collection;
        }

        _federated = new Dictionary<string, FederatedBundleSource>(StringComparer.Ordinal);
        foreach (var (trustDomain, source) in federated ?? new Dictionary<string, FederatedBundleSource>())
        {
            if (!_bundles.ContainsKey(trustDomain))
            {
                _federated[trustDomain] = source;
            }
        }

        AnyTrustDomain = anyTrustDomain is { Count: > 0 } ? anyTrustDomain : null;
    }

    /// <summary>The trust domains that have their own bundle (a file or a federation endpoint).</summary>
    public IReadOnlyCollection<string> TrustDomains => [.. _bundles.Keys, .. _federated.Keys];

    /// <summary>The federated trust domains' sources (for readiness).</summary>
    public IReadOnlyCollection<FederatedBundleSource> FederatedSources => _federated.Values;

    /// <summary>
    /// The anchors for <paramref name="trustDomain"/>, as <see cref="TryGetAnchors"/>, telling apart a trust domain
    /// Gatehouse does not know from a federated one whose bundle is unavailable (never fetched, or past
    /// <c>max_stale</c>). An unavailable federated trust domain never falls back to the any-trust-domain bundle.
    /// </summary>
    public TrustBundleLookup Lookup(string trustDomain, [NotNullWhen(true)] out X509Certificate2Collection? anchors)
    {
        if (_bundles.TryGetValue(trustDomain, out anchors))
        {
            return anchors.Count > 0 ? TrustBundleLookup.Found : TrustBundleLookup.UnknownTrustDomain;
        }

        if (_federated.TryGetValue(trustDomain, out var source))
        {
            return source.TryGetAuthorities(out anchors) ? TrustBundleLookup.Found : TrustBundleLookup.Unavailable;
        }

        anchors = AnyTrustDomain;
        return anchors is not null ? TrustBundleLookup.Found : TrustBundleLookup.UnknownTrustDomain;
    }

    /// <summary>The fallback bundle for trust domains without their own, or null.</summary>
    public X509Certificate2Collection? AnyTrustDomain { get; }

    /// <summary>
    /// The anchors for <paramref name="trustDomain"/>: its own bundle when it has one (and then only that one — the
    /// fallback bundle can never vouch for a trust domain that has its own), else the fallback bundle.
    /// </summary>
    public bool TryGetAnchors(string trustDomain, [NotNullWhen(true)] out X509Certificate2Collection? anchors) =>
        Lookup(trustDomain, out anchors) == TrustBundleLookup.Found;

    /// <summary>Loads bundles from PEM files. Every file is read; every problem is reported.</summary>
    /// <param name="bundleFiles">Trust domain → PEM file (<c>tls.trust_bundles</c>).</param>
    /// <param name="anyTrustDomainFile">PEM file for any trust domain (<c>tls.client_ca</c>), or null.</param>
    /// <param name="federated">Federated trust domains' sources (<c>tls.trust_bundles.TD: { endpoint: … }</c>), or null.</param>
    public static TrustBundleLoadResult Load(IReadOnlyDictionary<string, string>? bundleFiles, string? anyTrustDomainFile,
        IReadOnlyDictionary<string, FederatedBundleSource>? federated = null)
    {
        var errors = new List<string>();
        var bundles = new Dictionary<string, X509Certificate2Collection>(StringComparer.Ordinal);
        foreach (var (trustDomain, file) in bundleFiles ?? new Dictionary<string, string>())
        {
            if (!SpiffeId.IsValidTrustDomain(trustDomain))
            {
                errors.Add($"trust_bundles.{trustDomain}: not a valid SPIFFE trust domain name");
                continue;
            }

            if (TryLoadPemBundle(file, out var collection, out var error))
            {
                bundles[trustDomain] = collection;
            }
            else
            {
                errors.Add($"trust_bundles.{trustDomain}: {error}");
            }
        }

        X509Certificate2Collection? any = null;
        if (!string.IsNullOrEmpty(anyTrustDomainFile))
        {
            if (!TryLoadPemBundle(anyTrustDomainFile, out any, out var error))
            {
                errors.Add($"client_ca: {error}");
            }
        }

        return errors.Count > 0
            ? new TrustBundleLoadResult(null, errors)
            : new TrustBundleLoadResult(new TrustBundleSet(bundles, any, federated), []);
    }

    /// <summary>Reads every certificate of a PEM file; fails when the file is missing, unreadable or holds none.</summary>
    public static bool TryLoadPemBundle(string path, [NotNullWhen(true)] out X509Certificate2Collection? collection, [NotNullWhen(false)] out string? error)
    {
        collection = null;
        try
        {
            var result = new X509Certificate2Collection();
            result.ImportFromPemFile(path);
            if (result.Count == 0)
            {
                error = $"{path}: no CERTIFICATE block";
                return false;
            }

            collection = result;
            error = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            error = $"{path}: {e.Message}";
            return false;
        }
    }
}

/// <summary>The outcome of <see cref="TrustBundleSet.Lookup"/>.</summary>
public enum TrustBundleLookup
{
    /// <summary>Anchors found.</summary>
    Found,
    /// <summary>No bundle for the trust domain (and no any-trust-domain bundle).</summary>
    UnknownTrustDomain,
    /// <summary>A federated trust domain whose bundle was never fetched or is older than <c>max_stale</c>.</summary>
    Unavailable,
}

/// <summary>The outcome of <see cref="TrustBundleSet.Load"/>: a set, or every error found.</summary>
public sealed record TrustBundleLoadResult(TrustBundleSet? Bundles, IReadOnlyList<string> Errors)
{
    /// <summary>True when every file loaded.</summary>
    [MemberNotNullWhen(true, nameof(Bundles))]
    public bool Success => Bundles is not null;
}
