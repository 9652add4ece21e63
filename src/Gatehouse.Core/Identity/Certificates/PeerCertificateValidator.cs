using System.Security.Cryptography.X509Certificates;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Identity.Certificates;

/// <summary>Which end of a TLS connection a peer certificate authenticates (selects the required EKU).</summary>
public enum PeerRole
{
    /// <summary>The peer is a TLS client (inbound mTLS): EKU clientAuth, when the leaf has an EKU extension.</summary>
    Client,
    /// <summary>The peer is a TLS server (outbound mTLS): EKU serverAuth, when the leaf has an EKU extension.</summary>
    Server,
}

/// <summary>
/// Validates a peer's X.509-SVID (SPIFFE X509-SVID spec) against per-trust-domain bundles. Stateless and
/// thread-safe; never throws for bad certificates — every outcome is a <see cref="PeerCertificateResult"/>.
/// </summary>
/// <remarks>
/// Order: identity first (exactly one URI SAN, a valid SPIFFE ID — X509-SVID §2), then the leaf's own rules
/// (not a CA, no keyCertSign/cRLSign — X509-SVID §4.1/§4.3; EKU), then the chain, built with
/// <see cref="X509ChainTrustMode.CustomRootTrust"/> against the anchors of that ID's trust domain only
/// (X509-SVID §5.2, SPIFFE bundle spec §4): no system roots, no AIA downloads, no online revocation, at the
/// <see cref="TimeProvider"/>'s now.
/// </remarks>
public static class PeerCertificateValidator
{
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string AnyExtendedKeyUsageOid = "2.5.29.37.0";

    /// <summary>Validates <paramref name="leaf"/> as a TLS client's SVID (inbound mTLS).</summary>
    /// <param name="leaf">The peer's end-entity certificate, or null when none was presented.</param>
    /// <param name="presentedIntermediates">Other certificates the peer sent (untrusted; used only to build the chain).</param>
    /// <param name="bundles">Trust anchors per trust domain.</param>
    /// <param name="time">Source of the verification time.</param>
    public static PeerCertificateResult Validate(X509Certificate2? leaf, X509Certificate2Collection? presentedIntermediates, TrustBundleSet bundles, TimeProvider time)
        => Validate(leaf, presentedIntermediates, bundles, time, PeerRole.Client);

    /// <summary>Validates <paramref name="leaf"/> as the SVID of a TLS <paramref name="role"/>.</summary>
    public static PeerCertificateResult Validate(X509Certificate2? leaf, X509Certificate2Collection? presentedIntermediates, TrustBundleSet bundles, TimeProvider time, PeerRole role)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        ArgumentNullException.ThrowIfNull(time);
        if (leaf is null)
        {
            return PeerCertificateResult.Missing;
        }

        var thumbprint = CertificateNames.Sha256Thumbprint(leaf);
        var hashHex = CertificateNames.Sha256Hex(leaf);
        var subject = leaf.Subject;
        var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        PeerCertificateResult Fail(string detail) => PeerCertificateResult.Invalid(detail, thumbprint, hashHex, subject, notAfter);

        // X509-SVID §2: an SVID carries exactly one URI SAN, and it is the SPIFFE ID.
        if (!CertificateNames.TryGetUriSans(leaf, out var uris))
        {
            return Fail(PeerCertificateFailures.MalformedSan);
        }

        if (uris.Count == 0)
        {
            return Fail(PeerCertificateFailures.NoUriSan);
        }

        if (uris.Count > 1)
        {
            return Fail(PeerCertificateFailures.MultipleUriSans);
        }

        if (!SpiffeId.TryParse(uris[0], out var id, out var idError))
        {
            return Fail(PeerCertificateFailures.InvalidSpiffeId + "/" + idError);
        }

        // X509-SVID §4.1 / §4.3: a leaf SVID is not a CA and must not sign certificates or CRLs.
        foreach (var extension in leaf.Extensions)
        {
            if (extension is X509BasicConstraintsExtension { CertificateAuthority: true }
                || extension is X509KeyUsageExtension ku && (ku.KeyUsages & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
            {
                return Fail(PeerCertificateFailures.LeafIsCa);
            }

            // X509-SVID §4.4: EKU is optional; when present it must allow this end's purpose.
            if (extension is X509EnhancedKeyUsageExtension eku && !AllowsPurpose(eku, role == PeerRole.Client ? ClientAuthOid : ServerAuthOid))
            {
                return Fail(PeerCertificateFailures.WrongExtendedKeyUsage);
            }
        }

        // SPIFFE bundle spec §4: only the bundle of the ID's own trust domain can vouch for it.
        var lookup = bundles.Lookup(id.TrustDomain, out var anchors);
        if (lookup != TrustBundleLookup.Found || anchors is null)
        {
            return Fail((lookup == TrustBundleLookup.Unavailable ? PeerCertificateFailures.BundleUnavailable : PeerCertificateFailures.UnknownTrustDomain)
                + "/" + id.TrustDomain);
        }

        var now = time.GetUtcNow();
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(anchors);
        // Note: no AIA fetching and no online revocation: a handshake must never wait on the network, and SPIFFE
        // relies on short-lived SVIDs instead of revocation (X509-SVID §7).
        policy.DisableCertificateDownloads = true;
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.VerificationTime = now.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        if (presentedIntermediates is not null)
        {
            foreach (var certificate in presentedIntermediates)
            {
                // The peer usually sends its leaf too; keep only the others as untrusted intermediates.
                if (!certificate.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
                {
                    policy.ExtraStore.Add(certificate);
                }
            }
        }

        bool built;
        try
        {
            built = chain.Build(leaf);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            return Fail(PeerCertificateFailures.ChainInvalid + "/" + e.GetType().Name);
        }

        if (!built)
        {
            var flags = X509ChainStatusFlags.NoError;
            foreach (var status in chain.ChainStatus)
            {
                flags |= status.Status;
            }

            if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                return Fail(now < NotBefore(leaf) ? PeerCertificateFailures.NotYetValid
                    : now > notAfter ? PeerCertificateFailures.Expired
                    : ChainElementTimeFailure(chain, now));
            }

            if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotSignatureValid)) != 0)
            {
                return Fail(PeerCertificateFailures.UntrustedChain);
            }

            return Fail(PeerCertificateFailures.ChainInvalid + "/" + flags.ToString().Replace(", ", "|", StringComparison.Ordinal));
        }

        // Defence in depth: the chain must end at one of this trust domain's anchors.
        var root = chain.ChainElements[^1].Certificate;
        var anchored = false;
        foreach (var anchor in anchors)
        {
            if (anchor.RawDataMemory.Span.SequenceEqual(root.RawDataMemory.Span))
            {
                anchored = true;
                break;
            }
        }

        return anchored
            ? PeerCertificateResult.Valid(id, thumbprint, hashHex, subject, notAfter)
            : Fail(PeerCertificateFailures.UntrustedChain);
    }

    private static bool AllowsPurpose(X509EnhancedKeyUsageExtension eku, string purpose)
    {
        foreach (var oid in eku.EnhancedKeyUsages)
        {
            if (oid.Value == purpose || oid.Value == AnyExtendedKeyUsageOid)
            {
                return true;
            }
        }

        return false;
    }

    private static DateTimeOffset NotBefore(X509Certificate2 certificate) => new(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);

    private static string ChainElementTimeFailure(X509Chain chain, DateTimeOffset now)
    {
        foreach (var element in chain.ChainElements)
        {
            if (now < NotBefore(element.Certificate))
            {
                return PeerCertificateFailures.NotYetValid;
            }
        }

        return PeerCertificateFailures.Expired;
    }
}
