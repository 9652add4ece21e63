using System.Security.Cryptography.X509Certificates;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Identity;

/// <summary>
/// Loading <c>tls.trust_bundles</c> and <c>tls.client_ca</c> from PEM files: every file is read, every problem is
/// reported with the key it came from, and one bad file means no set at all (a reload then keeps the last good one).
/// </summary>
public sealed class TrustBundleSetTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gatehouse-bundles-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    private readonly DevCertificateAuthority _a;
    private readonly DevCertificateAuthority _b;

    public TrustBundleSetTests()
    {
        _a = DevCertificateAuthority.Create("a.test", _clock);
        _b = DevCertificateAuthority.Create("b.test", _clock);
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void GoodFiles_MakeASet_WithEachTrustDomainOnItsOwnAnchors()
    {
        var result = TrustBundleSet.Load(
            new Dictionary<string, string> { ["a.test"] = Write("a.pem", _a.CertificatePem), ["b.test"] = Write("b.pem", _b.CertificatePem) },
            Write("any.pem", _a.CertificatePem + _b.CertificatePem));

        Assert.True(result.Success, string.Join("; ", result.Errors));
        Assert.Empty(result.Errors);
        Assert.Equal(["a.test", "b.test"], result.Bundles.TrustDomains.Order());
        Assert.True(result.Bundles.TryGetAnchors("a.test", out var a));
        Assert.Equal(_a.Certificate.RawData, Assert.Single(a).RawData);
        Assert.Equal(2, result.Bundles.AnyTrustDomain?.Count);
        Assert.True(result.Bundles.TryGetAnchors("c.test", out var fallback));
        Assert.Equal(2, fallback.Count);
    }

    [Fact]
    public void NoFiles_MakeAnEmptySet_ThatTrustsNothing()
    {
        var result = TrustBundleSet.Load(null, "");

        Assert.True(result.Success);
        Assert.Empty(result.Bundles.TrustDomains);
        Assert.Null(result.Bundles.AnyTrustDomain);
        Assert.False(result.Bundles.TryGetAnchors("a.test", out _));
    }

    [Fact]
    public void EveryProblem_IsReported_WithTheKeyItCameFrom_AndNoSetIsMade()
    {
        var missing = Path.Combine(_directory, "missing.pem");
        var noCertificate = Write("key-only.pem", _a.KeyPem);
        var result = TrustBundleSet.Load(
            new Dictionary<string, string>
            {
                ["a.test"] = missing,
                ["b.test"] = noCertificate,
                ["Not A Domain"] = Write("ok.pem", _a.CertificatePem),
            },
            Path.Combine(_directory, "missing-any.pem"));

        Assert.False(result.Success);
        Assert.Null(result.Bundles);
        Assert.Equal(4, result.Errors.Count);
        Assert.Contains(result.Errors, e => e.StartsWith("trust_bundles.a.test: ", StringComparison.Ordinal) && e.Contains(missing, StringComparison.Ordinal));
        Assert.Contains($"trust_bundles.b.test: {noCertificate}: no CERTIFICATE block", result.Errors);
        Assert.Contains("trust_bundles.Not A Domain: not a valid SPIFFE trust domain name", result.Errors);
        Assert.Contains(result.Errors, e => e.StartsWith("client_ca: ", StringComparison.Ordinal) && e.Contains("missing-any.pem", StringComparison.Ordinal));
    }

    [Fact]
    public void AFileThatIsNotPem_IsAnError_NotAnException()
    {
        Assert.False(TrustBundleSet.TryLoadPemBundle(Write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), out var collection, out var error));
        Assert.Null(collection);
        Assert.Contains("garbage.pem", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyAnyDomainCollection_IsNoFallback()
    {
        var set = new TrustBundleSet(new Dictionary<string, X509Certificate2Collection>(), []);

        Assert.Null(set.AnyTrustDomain);
        Assert.Equal(TrustBundleLookup.UnknownTrustDomain, set.Lookup("a.test", out _));
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
