using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Cli.Demo;

/// <summary>The demo's trust domain <c>demo.local</c>: a development CA, the gateway's and two workloads' certificates, and a rogue CA's.</summary>
internal sealed class DemoPki
{
    /// <summary>A certificate and key on disk.</summary>
    internal sealed record Workload(string Certificate, string Key)
    {
        public X509Certificate2 Load() => X509Certificate2.CreateFromPemFile(Certificate, Key);
    }

    private readonly X509Certificate2 _ca;

    private DemoPki(string directory, string bundle, X509Certificate2 ca, Workload gateway, Workload checkout, Workload catalog, Workload rogue)
    {
        Directory = directory;
        Bundle = bundle;
        _ca = ca;
        Gateway = gateway;
        Checkout = checkout;
        Catalog = catalog;
        Rogue = rogue;
    }

    public string Directory { get; }
    public string Bundle { get; }
    public Workload Gateway { get; }
    public Workload Checkout { get; }
    public Workload Catalog { get; }
    public Workload Rogue { get; }

    public static DemoPki Create(string directory, TimeProvider time)
    {
        using var ca = DevCertificateAuthority.Create("demo.local", time);
        using var rogueCa = DevCertificateAuthority.Create("demo.local", time);
        if (!DevCertificateFiles.TryWriteAuthority(ca, Path.Combine(directory, "ca"), out var caPaths, out var error))
        {
            throw new IOException(error);
        }
        var gateway = Issue(ca, "spiffe://demo.local/ns/gatehouse/sa/gateway", Path.Combine(directory, "gateway"), ["localhost"]);
        var checkout = Issue(ca, "spiffe://demo.local/ns/shop/sa/checkout", Path.Combine(directory, "checkout"), []);
        var catalog = Issue(ca, "spiffe://demo.local/ns/shop/sa/catalog", Path.Combine(directory, "catalog"), []);
        var rogue = Issue(rogueCa, "spiffe://demo.local/ns/shop/sa/checkout", Path.Combine(directory, "rogue"), []);
        return new DemoPki(directory, caPaths.Certificate, X509Certificate2.CreateFromPem(ca.CertificatePem), gateway, checkout, catalog, rogue);
    }

    private static Workload Issue(DevCertificateAuthority ca, string id, string directory, IReadOnlyList<string> dns)
    {
        if (!ca.TryIssueWorkload(SpiffeId.Parse(id), new WorkloadCertificateOptions { DnsNames = dns }, out var issued, out var error)
            || !DevCertificateFiles.TryWriteWorkload(issued, directory, out var paths, out error))
        {
            throw new IOException(error);
        }
        issued.Dispose();
        return new Workload(paths.Certificate, paths.Key);
    }

    /// <summary>Trusts the gateway's certificate only through the demo CA (no system roots).</summary>
    public bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        _ = sender;
        _ = chain;
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(_ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return custom.Build(new X509Certificate2(certificate));
    }
}
