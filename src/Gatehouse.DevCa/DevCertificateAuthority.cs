using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.DevCa;

/// <summary>Options of <see cref="DevCertificateAuthority.Create"/>.</summary>
public sealed record DevCaOptions
{
    /// <summary>CA lifetime. Default 30 days.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromDays(30);
    /// <summary>Start of validity. Default: now minus 5 minutes (tolerates small clock skew between machines).</summary>
    public DateTimeOffset? NotBefore { get; init; }
    /// <summary>
    /// Add a critical nameConstraints extension permitting only URI SANs in the trust domain (RFC 5280 §4.2.1.10,
    /// X509-SVID §4.3), so the CA cannot mint identities of other trust domains. Default true.
    /// </summary>
    public bool ConstrainToTrustDomain { get; init; } = true;
}

/// <summary>Options of <see cref="DevCertificateAuthority.TryIssueWorkload"/>.</summary>
public sealed record WorkloadCertificateOptions
{
    /// <summary>Extra DNS SANs (e.g. a Kubernetes service name). Default none.</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];
    /// <summary>Lifetime. Default 24 hours; never past the CA's own notAfter.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(24);
    /// <summary>Start of validity. Default: now minus 5 minutes, but not before the CA's notBefore.</summary>
    public DateTimeOffset? NotBefore { get; init; }
}

/// <summary>
/// A raw certificate request for <see cref="DevCertificateAuthority.Issue"/>: any URI SANs (none, one, several,
/// non-SPIFFE), any validity window. For tests and interop experiments; use
/// <see cref="DevCertificateAuthority.TryIssueWorkload"/> for real SVIDs.
/// </summary>
public sealed record DevCertificateRequest
{
    public IReadOnlyList<string> Uris { get; init; } = [];
    public IReadOnlyList<string> DnsNames { get; init; } = [];
    public required DateTimeOffset NotBefore { get; init; }
    public required DateTimeOffset NotAfter { get; init; }
    /// <summary>Subject common name. Default "workload".</summary>
    public string CommonName { get; init; } = "workload";
    /// <summary>EKUs; default serverAuth + clientAuth (X509-SVID §4.4).</summary>
    public IReadOnlyList<string> ExtendedKeyUsages { get; init; } = [ServerAuthOid, ClientAuthOid];

    /// <summary>id-kp-serverAuth.</summary>
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    /// <summary>id-kp-clientAuth.</summary>
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
}

/// <summary>A certificate issued by a <see cref="DevCertificateAuthority"/>, with its private key and bundle.</summary>
public sealed class IssuedCertificate : IDisposable
{
    internal IssuedCertificate(X509Certificate2 certificate, X509Certificate2 issuer)
    {
        Certificate = certificate;
        Issuer = issuer;
    }

    /// <summary>The leaf, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The issuing CA certificate (public part only).</summary>
    public X509Certificate2 Issuer { get; }

    /// <summary>The leaf certificate as PEM (newline-terminated).</summary>
    public string CertificatePem => Certificate.ExportCertificatePem() + "\n";

    /// <summary>The leaf's private key as PKCS#8 PEM.</summary>
    public string KeyPem => DevCertificateAuthority.ExportKeyPem(Certificate);

    /// <summary>The trust bundle (the CA certificate) as PEM.</summary>
    public string BundlePem => Issuer.ExportCertificatePem() + "\n";

    /// <inheritdoc />
    public void Dispose() => Certificate.Dispose();
}

/// <summary>
/// A development certificate authority for one SPIFFE trust domain (<c>gatehouse ca init</c> / <c>ca issue</c>):
/// EC P-256 keys, short lifetimes, X509-SVID shaped certificates. Pure: nothing touches the disk here; see
/// <see cref="DevCertificateFiles"/> for writing PEM files. Not for production — use SPIRE or cert-manager.
/// </summary>
public sealed class DevCertificateAuthority : IDisposable
{
    private static readonly TimeSpan s_backdate = TimeSpan.FromMinutes(5);
    private readonly TimeProvider _time;

    private DevCertificateAuthority(string trustDomain, X509Certificate2 certificate, TimeProvider time)
    {
        TrustDomain = trustDomain;
        Certificate = certificate;
        _time = time;
    }

    /// <summary>The trust domain this CA issues for.</summary>
    public string TrustDomain { get; }

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate as PEM (the trust bundle peers need).</summary>
    public string CertificatePem => Certificate.ExportCertificatePem() + "\n";

    /// <summary>The CA private key as PKCS#8 PEM.</summary>
    public string KeyPem => ExportKeyPem(Certificate);

    /// <summary>Creates a new self-signed CA for <paramref name="trustDomain"/>.</summary>
    public static bool TryCreate(string trustDomain, TimeProvider time, DevCaOptions? options, [NotNullWhen(true)] out DevCertificateAuthority? ca, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(time);
        options ??= new DevCaOptions();
        ca = null;
        if (!SpiffeId.IsValidTrustDomain(trustDomain))
        {
            error = $"'{trustDomain}' is not a valid SPIFFE trust domain (lower-case letters, digits, '.', '-', '_')";
            return false;
        }

        if (options.Lifetime <= TimeSpan.Zero)
        {
            error = "lifetime must be positive";
            return false;
        }

        var notBefore = options.NotBefore ?? time.GetUtcNow() - s_backdate;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddOrganizationName("Gatehouse development CA");
        name.AddCommonName(trustDomain.Length <= 64 ? trustDomain : trustDomain[..64]);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        // X509-SVID §4.3: signing certificates are CAs with keyCertSign.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(BuildSubjectAlternativeName(["spiffe://" + trustDomain], []));
        if (options.ConstrainToTrustDomain)
        {
            request.CertificateExtensions.Add(BuildUriNameConstraint(trustDomain));
        }

        var certificate = request.CreateSelfSigned(notBefore, notBefore + options.Lifetime);
        ca = new DevCertificateAuthority(trustDomain, certificate, time);
        error = null;
        return true;
    }

    /// <summary>Creates a CA, for callers with a known-valid trust domain (tests, demo).</summary>
    /// <exception cref="ArgumentException">The trust domain or options are invalid.</exception>
    public static DevCertificateAuthority Create(string trustDomain, TimeProvider time, DevCaOptions? options = null)
        => TryCreate(trustDomain, time, options, out var ca, out var error) ? ca : throw new ArgumentException(error, nameof(trustDomain));

    /// <summary>Loads a CA from its PEM certificate and PKCS#8 key files (as written by <see cref="DevCertificateFiles.TryWriteAuthority"/>).</summary>
    public static bool TryLoad(string certificatePath, string keyPath, TimeProvider time, [NotNullWhen(true)] out DevCertificateAuthority? ca, [NotNullWhen(false)] out string? error)
    {
        ca = null;
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            error = $"cannot load CA from {certificatePath} / {keyPath}: {e.Message}";
            return false;
        }

        if (!CertificateNames.TryGetUriSans(certificate, out var uris) || uris.Count != 1
            || !SpiffeId.TryParse(uris[0], out var id) || id.Path.Length != 0
            || certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            certificate.Dispose();
            error = $"{certificatePath} is not a Gatehouse development CA (a CA certificate whose URI SAN is spiffe://<trust-domain>)";
            return false;
        }

        ca = new DevCertificateAuthority(id.TrustDomain, certificate, time);
        error = null;
        return true;
    }

    /// <summary>
    /// Issues an X.509-SVID for <paramref name="id"/>: URI SAN = the ID (plus optional DNS SANs), EKU serverAuth and
    /// clientAuth, keyUsage digitalSignature, not a CA, a random 128-bit serial, EC P-256.
    /// </summary>
    public bool TryIssueWorkload(SpiffeId id, WorkloadCertificateOptions? options, [NotNullWhen(true)] out IssuedCertificate? issued, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(id);
        options ??= new WorkloadCertificateOptions();
        issued = null;
        if (!id.IsMemberOf(TrustDomain))
        {
            error = $"{id} is not in this CA's trust domain {TrustDomain}";
            return false;
        }

        if (id.Path.Length == 0)
        {
            error = "a workload SPIFFE ID needs a path (X509-SVID §2: the trust domain's own ID is not a workload)";
            return false;
        }

        if (options.Lifetime <= TimeSpan.Zero)
        {
            error = "lifetime must be positive";
            return false;
        }

        foreach (var dns in options.DnsNames)
        {
            if (Uri.CheckHostName(dns) != UriHostNameType.Dns)
            {
                error = $"'{dns}' is not a DNS name";
                return false;
            }
        }

        var caNotBefore = new DateTimeOffset(Certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var caNotAfter = new DateTimeOffset(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var notBefore = options.NotBefore ?? _time.GetUtcNow() - s_backdate;
        if (notBefore < caNotBefore)
        {
            notBefore = caNotBefore;
        }

        var notAfter = notBefore + options.Lifetime;
        if (notAfter > caNotAfter)
        {
            notAfter = caNotAfter; // Note: a leaf never outlives its CA.
        }

        if (notAfter <= notBefore)
        {
            error = "the CA has expired (or expires before the requested start); run `gatehouse ca init` again";
            return false;
        }

        issued = Issue(new DevCertificateRequest
        {
            Uris = [id.Value],
            DnsNames = options.DnsNames,
            NotBefore = notBefore,
            NotAfter = notAfter,
            CommonName = id.ServiceAccount ?? LastSegment(id.Path),
        });
        error = null;
        return true;
    }

    /// <summary>Issues an SVID, for callers with known-valid input (tests, demo).</summary>
    /// <exception cref="ArgumentException">The request is invalid for this CA.</exception>
    public IssuedCertificate IssueWorkload(SpiffeId id, WorkloadCertificateOptions? options = null)
        => TryIssueWorkload(id, options, out var issued, out var error) ? issued : throw new ArgumentException(error, nameof(id));

    /// <summary>Issues a certificate exactly as requested (no SVID rules enforced). Dates must lie within the CA's validity.</summary>
    public IssuedCertificate Issue(DevCertificateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var name = new X500DistinguishedNameBuilder();
            name.AddOrganizationName("Gatehouse development workload");
            name.AddCommonName(request.CommonName.Length <= 64 ? request.CommonName : request.CommonName[..64]);
            var certificateRequest = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
            certificateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            // X509-SVID §4.3: leaf SVIDs set digitalSignature and never keyCertSign / cRLSign.
            certificateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            if (request.ExtendedKeyUsages.Count > 0)
            {
                var ekus = new OidCollection();
                foreach (var oid in request.ExtendedKeyUsages)
                {
                    ekus.Add(new Oid(oid));
                }

                certificateRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(ekus, false));
            }

            if (request.Uris.Count > 0 || request.DnsNames.Count > 0)
            {
                certificateRequest.CertificateExtensions.Add(BuildSubjectAlternativeName(request.Uris, request.DnsNames));
            }

            certificateRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(certificateRequest.PublicKey, false));
            certificateRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));

            using var publicOnly = certificateRequest.Create(Certificate, request.NotBefore, request.NotAfter, RandomSerial());
            var withKey = publicOnly.CopyWithPrivateKey(key);
            return new IssuedCertificate(withKey, X509CertificateLoader.LoadCertificate(Certificate.RawData));
        }
        finally
        {
            key.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Certificate.Dispose();

    internal static string ExportKeyPem(X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The certificate has no EC private key.");
        // Note: PEM files end with a newline so that `cat a.pem b.pem > bundle.pem` stays valid.
        return key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    private static byte[] RandomSerial()
    {
        // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; 128 random bits, high bit cleared.
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x01; // never a leading zero octet, so the DER encoding keeps 16 bytes
        return serial;
    }

    private static string LastSegment(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static X509Extension BuildSubjectAlternativeName(IReadOnlyList<string> uris, IReadOnlyList<string> dnsNames)
    {
        // Note: written by hand because SubjectAlternativeNameBuilder.AddUri goes through System.Uri, which rewrites
        // "spiffe://td" as "spiffe://td/" — not a valid SPIFFE ID. RFC 5280 §4.2.1.6: GeneralNames, dNSName [2] and
        // uniformResourceIdentifier [6], both IA5String.
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var dns in dnsNames)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, dns, new Asn1Tag(TagClass.ContextSpecific, 2));
            }

            foreach (var uri in uris)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
            }
        }

        return new X509Extension(CertificateNames.SubjectAltNameOid, writer.Encode(), critical: false);
    }

    private static X509Extension BuildUriNameConstraint(string trustDomain)
    {
        // RFC 5280 §4.2.1.10: NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, ... };
        // GeneralSubtree ::= SEQUENCE { base GeneralName, ... }; a URI constraint names the host (here the trust
        // domain). MUST be critical.
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                using (writer.PushSequence())
                {
                    writer.WriteCharacterString(UniversalTagNumber.IA5String, trustDomain, new Asn1Tag(TagClass.ContextSpecific, 6));
                }
            }
        }

        return new X509Extension("2.5.29.30", writer.Encode(), critical: true);
    }
}
