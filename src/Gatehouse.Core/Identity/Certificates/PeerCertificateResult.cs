using System.Diagnostics.CodeAnalysis;
using Gatehouse.Decisions;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;

namespace Gatehouse.Identity.Certificates;

/// <summary>
/// The outcome of validating a peer's X.509-SVID (<see cref="PeerCertificateValidator"/>). A value, never an
/// exception: either the certificate is valid and carries <see cref="Identity"/>, or <see cref="FailureReason"/>
/// says why not (<c>peer.certificate_invalid:&lt;detail&gt;</c>, see <see cref="PeerCertificateFailures"/>).
/// </summary>
public sealed class PeerCertificateResult
{
    private PeerCertificateResult(bool isValid, SpiffeId? identity, string thumbprint, string hashHex, string? subject, string? failureReason, DateTimeOffset? notAfter)
    {
        IsValid = isValid;
        Identity = identity;
        Thumbprint = thumbprint;
        HashHex = hashHex;
        Subject = subject;
        FailureReason = failureReason;
        NotAfter = notAfter;
    }

    /// <summary>True when the chain verified against the trust domain's bundle and the SVID rules held.</summary>
    [MemberNotNullWhen(true, nameof(Identity))]
    [MemberNotNullWhen(false, nameof(FailureReason))]
    public bool IsValid { get; }

    /// <summary>The peer's SPIFFE ID (its single URI SAN) when valid.</summary>
    public SpiffeId? Identity { get; }

    /// <summary>base64url SHA-256 of the certificate's DER: RFC 8705 §3.1 <c>x5t#S256</c>. Empty when there was no certificate.</summary>
    public string Thumbprint { get; }

    /// <summary>Lower-case hex SHA-256 of the DER, as Envoy writes it in XFCC <c>Hash=</c>. Empty when there was no certificate.</summary>
    public string HashHex { get; }

    /// <summary>The certificate's subject distinguished name (RFC 4514 form), informational only.</summary>
    public string? Subject { get; }

    /// <summary>End of the certificate's validity, when there was a certificate.</summary>
    public DateTimeOffset? NotAfter { get; }

    /// <summary>A <see cref="ReasonCodes"/> peer code plus <c>:detail</c>, when invalid.</summary>
    public string? FailureReason { get; }

    /// <summary>The result for a handshake that presented no certificate.</summary>
    public static PeerCertificateResult Missing { get; } = new(false, null, "", "", null, ReasonCodes.PeerCertificateMissing, null);

    internal static PeerCertificateResult Valid(SpiffeId identity, string thumbprint, string hashHex, string subject, DateTimeOffset notAfter)
        => new(true, identity, thumbprint, hashHex, subject, null, notAfter);

    internal static PeerCertificateResult Invalid(string detail, string thumbprint, string hashHex, string? subject, DateTimeOffset? notAfter, string code = ReasonCodes.PeerCertificateInvalid)
        => new(false, null, thumbprint, hashHex, subject, code + ":" + detail, notAfter);

    /// <inheritdoc />
    public override string ToString() => IsValid ? $"valid {Identity} x5t#S256={Thumbprint}" : $"invalid {FailureReason}";
}

/// <summary>Details appended to <see cref="ReasonCodes.PeerCertificateInvalid"/> / <see cref="ReasonCodes.PeerIdentityMismatch"/>.</summary>
public static class PeerCertificateFailures
{
    /// <summary>No URI SAN (X509-SVID §2: exactly one is required).</summary>
    public const string NoUriSan = "no_uri_san";
    /// <summary>More than one URI SAN (X509-SVID §2).</summary>
    public const string MultipleUriSans = "multiple_uri_sans";
    /// <summary>The subjectAltName extension could not be read, or appears twice.</summary>
    public const string MalformedSan = "malformed_san";
    /// <summary>The URI SAN is not a valid SPIFFE ID; the SPIFFE-ID parse reason follows after a slash.</summary>
    public const string InvalidSpiffeId = "invalid_spiffe_id";
    /// <summary>No bundle is configured for the ID's trust domain.</summary>
    public const string UnknownTrustDomain = "unknown_trust_domain";
    /// <summary>
    /// The ID's trust domain is federated (a bundle endpoint), but no bundle was ever fetched or the last good one is
    /// older than <c>max_stale</c>: its peers are refused until the endpoint answers again.
    /// </summary>
    public const string BundleUnavailable = "bundle_unavailable";
    /// <summary>The chain does not lead to an anchor of the trust domain's bundle.</summary>
    public const string UntrustedChain = "untrusted_chain";
    /// <summary>The leaf (or a chain element) is past its notAfter at the verification time.</summary>
    public const string Expired = "expired";
    /// <summary>The leaf (or a chain element) is before its notBefore at the verification time.</summary>
    public const string NotYetValid = "not_yet_valid";
    /// <summary>The leaf has an EKU extension without the required purpose (clientAuth inbound, serverAuth outbound).</summary>
    public const string WrongExtendedKeyUsage = "wrong_extended_key_usage";
    /// <summary>The leaf is a CA or may sign certificates/CRLs (X509-SVID §4.1, §4.3).</summary>
    public const string LeafIsCa = "leaf_is_ca";
    /// <summary>The chain failed for another reason (the X509ChainStatusFlags follow).</summary>
    public const string ChainInvalid = "chain_invalid";
    /// <summary>The peer's SPIFFE ID is not the one expected (outbound).</summary>
    public const string UnexpectedPeer = "unexpected_peer";
}
