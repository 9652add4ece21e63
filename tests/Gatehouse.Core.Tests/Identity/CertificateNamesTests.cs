using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Identity.Certificates;

namespace Gatehouse.Tests.Identity;

/// <summary>
/// Reading a peer certificate's URI SANs (its SPIFFE ID). RFC 5280 §4.2: "A certificate MUST NOT include more than one
/// instance of a particular extension", and a malformed subjectAltName names nobody: both are refused rather than
/// read in part, so a certificate can never carry two identities to choose from.
/// </summary>
public sealed class CertificateNamesTests
{
    private const string Workload = "spiffe://td.example/ns/shop/sa/orders";

    [Fact]
    public void TheUriSans_AreRead()
    {
        using var certificate = Create(San(Workload, "spiffe://td.example/ns/shop/sa/other"));

        Assert.True(CertificateNames.TryGetUriSans(certificate, out var uris));
        Assert.Equal([Workload, "spiffe://td.example/ns/shop/sa/other"], uris);
    }

    [Fact]
    public void NoSubjectAltName_IsNoUri_NotAnError()
    {
        using var certificate = Create();

        Assert.True(CertificateNames.TryGetUriSans(certificate, out var uris));
        Assert.Empty(uris);
    }

    [Fact]
    public void TwoSubjectAltNameExtensions_AreRefused()
    {
        // .NET will not issue a certificate with a repeated extension, so the second one is an issuerAltName
        // (2.5.29.18) whose OID is then rewritten to subjectAltName (2.5.29.17) in the DER. Nothing here checks the
        // signature: only the extension list is read.
        using var issued = Create(San(Workload), new X509Extension("2.5.29.18", San("spiffe://td.example/ns/admin/sa/root").RawData, critical: false));
        var der = issued.RawData;
        var issuerAltNameOid = new byte[] { 0x06, 0x03, 0x55, 0x1D, 0x12 };
        var at = der.AsSpan().IndexOf(issuerAltNameOid);
        Assert.True(at > 0);
        der[at + 4] = 0x11;
        using var certificate = X509CertificateLoader.LoadCertificate(der);

        Assert.False(CertificateNames.TryGetUriSans(certificate, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0x30, 0x05, 0x86, 0x03, 0x61 })]              // the URI runs past the sequence
    [InlineData(new byte[] { 0x04, 0x00 })]                                 // an OCTET STRING, not a SEQUENCE
    [InlineData(new byte[] { 0x30, 0x03, 0x86, 0x01, 0x61, 0x30, 0x00 })]   // a second value after the sequence
    public void AMalformedSubjectAltName_IsRefused(byte[] rawData)
    {
        using var certificate = Create(new X509Extension(CertificateNames.SubjectAltNameOid, rawData, critical: false));

        Assert.False(CertificateNames.TryGetUriSans(certificate, out _));
    }

    private static X509Extension San(params string[] uris)
    {
        var builder = new SubjectAlternativeNameBuilder();
        foreach (var uri in uris)
        {
            builder.AddUri(new Uri(uri));
        }

        return builder.Build();
    }

    private static X509Certificate2 Create(params X509Extension[] extensions)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=workload", key, HashAlgorithmName.SHA256);
        foreach (var extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-1), now.AddMinutes(10));
    }
}
