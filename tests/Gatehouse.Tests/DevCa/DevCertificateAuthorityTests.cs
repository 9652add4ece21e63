using System.Security.Cryptography.X509Certificates;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.DevCa;

public sealed class DevCertificateAuthorityTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(s_now);

    [Fact]
    public void Ca_has_ca_extensions_and_default_30_day_lifetime()
    {
        using var ca = DevCertificateAuthority.Create("example.org", _clock);
        var certificate = ca.Certificate;
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal("ECC", certificate.GetKeyAlgorithm() == "1.2.840.10045.2.1" ? "ECC" : certificate.GetKeyAlgorithm());
        Assert.True(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.Contains(certificate.Extensions.Cast<X509Extension>(), e => e.Oid?.Value == "2.5.29.30" && e.Critical);
        Assert.Equal(TimeSpan.FromDays(30), certificate.NotAfter - certificate.NotBefore);
        Assert.True(CertificateNames.TryGetUriSans(certificate, out var uris));
        Assert.Equal(["spiffe://example.org"], uris);
    }

    [Fact]
    public void Invalid_input_is_a_value_not_an_exception()
    {
        Assert.False(DevCertificateAuthority.TryCreate("Bad Domain", _clock, null, out _, out var error));
        Assert.NotNull(error);

        using var ca = DevCertificateAuthority.Create("example.org", _clock);
        Assert.False(ca.TryIssueWorkload(SpiffeId.Parse("spiffe://other.org/x"), null, out _, out error));
        Assert.Contains("trust domain", error, StringComparison.Ordinal);
        Assert.False(ca.TryIssueWorkload(SpiffeId.Parse("spiffe://example.org"), null, out _, out _));
        Assert.False(ca.TryIssueWorkload(SpiffeId.Parse("spiffe://example.org/x"), new WorkloadCertificateOptions { DnsNames = ["not a name"] }, out _, out _));
    }

    [Fact]
    public void Workload_svid_shape()
    {
        using var ca = DevCertificateAuthority.Create("example.org", _clock);
        using var issued = ca.IssueWorkload(SpiffeId.Parse("spiffe://example.org/ns/shop/sa/checkout"), new WorkloadCertificateOptions { DnsNames = ["checkout.shop.svc"] });
        var certificate = issued.Certificate;

        Assert.True(certificate.HasPrivateKey);
        Assert.True(CertificateNames.TryGetUriSans(certificate, out var uris));
        Assert.Equal(["spiffe://example.org/ns/shop/sa/checkout"], uris);
        Assert.Equal(["checkout.shop.svc"], certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.False(certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        var ekus = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToArray();
        Assert.Contains("1.3.6.1.5.5.7.3.1", ekus);
        Assert.Contains("1.3.6.1.5.5.7.3.2", ekus);
        Assert.Equal(TimeSpan.FromHours(24), certificate.NotAfter - certificate.NotBefore);
        Assert.Equal(16, certificate.SerialNumberBytes.Length);

        using var second = ca.IssueWorkload(SpiffeId.Parse("spiffe://example.org/ns/shop/sa/checkout"));
        Assert.NotEqual(certificate.SerialNumber, second.Certificate.SerialNumber);
    }

    [Fact]
    public void Leaf_never_outlives_its_ca()
    {
        using var ca = DevCertificateAuthority.Create("example.org", _clock, new DevCaOptions { NotBefore = s_now.AddDays(-1), Lifetime = TimeSpan.FromDays(1) + TimeSpan.FromHours(1) });
        using var issued = ca.IssueWorkload(SpiffeId.Parse("spiffe://example.org/x"));
        Assert.Equal(ca.Certificate.NotAfter, issued.Certificate.NotAfter);
    }

    [Fact]
    public void Pem_round_trip_and_loading_the_ca_back()
    {
        using var ca = DevCertificateAuthority.Create("example.org", _clock);
        using var issued = ca.IssueWorkload(SpiffeId.Parse("spiffe://example.org/x"));
        using var reloaded = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.KeyPem);
        Assert.True(reloaded.HasPrivateKey);
        Assert.Equal(issued.Certificate.Thumbprint, reloaded.Thumbprint);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", issued.KeyPem, StringComparison.Ordinal);

        var directory = new DirectoryInfo(Gatehouse.Testing.TestTemp.CreateDirectory("ca-"));
        try
        {
            Assert.True(DevCertificateFiles.TryWriteAuthority(ca, directory.FullName, out var caPaths, out var error), error);
            Assert.True(DevCertificateAuthority.TryLoad(caPaths.Certificate, caPaths.Key, _clock, out var loaded, out error), error);
            using (loaded)
            {
                Assert.Equal("example.org", loaded.TrustDomain);
                using var fromLoaded = loaded.IssueWorkload(SpiffeId.Parse("spiffe://example.org/y"));
                var bundles = TrustBundleSet.Load(new Dictionary<string, string> { ["example.org"] = caPaths.Bundle }, null);
                Assert.True(bundles.Success, string.Join("; ", bundles.Errors));
                Assert.True(PeerCertificateValidator.Validate(fromLoaded.Certificate, null, bundles.Bundles, _clock).IsValid);
            }

            Assert.True(DevCertificateFiles.TryWriteWorkload(issued, Path.Combine(directory.FullName, "x"), out var paths, out error), error);
            Assert.Equal(issued.CertificatePem, File.ReadAllText(paths.Certificate));
            Assert.Equal(ca.CertificatePem, File.ReadAllText(paths.Bundle));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(paths.Key));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(caPaths.Key));
            }

            Assert.Empty(Directory.GetFiles(directory.FullName, "*.tmp", SearchOption.AllDirectories));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Bundle_loading_reports_every_error()
    {
        var result = TrustBundleSet.Load(new Dictionary<string, string> { ["Bad TD"] = "/nonexistent", ["ok.test"] = "/nonexistent/bundle.pem" }, "/nonexistent/ca.pem");
        Assert.False(result.Success);
        Assert.Equal(3, result.Errors.Count);
    }
}
