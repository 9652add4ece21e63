using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Identity.Certificates;

/// <summary>Reads names and fingerprints from certificates (the BCL exposes DNS and IP SANs, not URI SANs).</summary>
public static class CertificateNames
{
    /// <summary>OID of the subjectAltName extension (RFC 5280 §4.2.1.6).</summary>
    public const string SubjectAltNameOid = "2.5.29.17";

    private static readonly Asn1Tag s_uriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>
    /// The uniformResourceIdentifier entries of the certificate's subjectAltName (GeneralName [6] IA5String,
    /// RFC 5280 §4.2.1.6). Returns false when the extension is malformed or present more than once (RFC 5280 §4.2).
    /// </summary>
    public static bool TryGetUriSans(X509Certificate2 certificate, out IReadOnlyList<string> uris)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var result = new List<string>();
        uris = result;
        var seen = false;
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            if (seen)
            {
                return false;
            }

            seen = true;
            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var sequence = reader.ReadSequence();
                reader.ThrowIfNotEmpty();
                while (sequence.HasData)
                {
                    var tag = sequence.PeekTag();
                    if (tag.HasSameClassAndValue(s_uriTag))
                    {
                        result.Add(sequence.ReadCharacterString(UniversalTagNumber.IA5String, s_uriTag));
                    }
                    else
                    {
                        sequence.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>SHA-256 of the DER encoding, base64url without padding: the RFC 8705 §3.1 <c>x5t#S256</c> value.</summary>
    public static string Sha256Thumbprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(certificate.RawDataMemory.Span));
    }

    /// <summary>SHA-256 of the DER encoding as lower-case hex: the <c>Hash</c> of Envoy's <c>x-forwarded-client-cert</c>.</summary>
    public static string Sha256Hex(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawDataMemory.Span));
    }
}
