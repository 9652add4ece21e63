using System.Diagnostics.CodeAnalysis;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Proxy.Tls;

/// <summary>A certificate with its private key, its chain to send, and the SPIFFE ID it carries (if any).</summary>
internal sealed record CertificateMaterial(X509Certificate2 Leaf, SslStreamCertificateContext Context, SpiffeId? Identity);

/// <summary>Everything a TLS listener needs for one handshake; immutable, swapped whole on reload.</summary>
internal sealed record ListenerTlsMaterial(CertificateMaterial Server, TrustBundleSet Bundles);

/// <summary>Loads PEM material for listeners and outbound clients.</summary>
internal static class TlsMaterialLoader
{
    /// <summary>
    /// Loads a certificate (first PEM block; following blocks are its intermediates) and its PKCS#8/SEC1/PKCS#1
    /// key. A key that does not match the certificate (e.g. read mid-rotation) is an error.
    /// </summary>
    public static bool TryLoadCertificate(string certificatePath, string keyPath, [NotNullWhen(true)] out CertificateMaterial? material, [NotNullWhen(false)] out string? error)
    {
        material = null;
        try
        {
            var leaf = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            if (OperatingSystem.IsWindows())
            {
                // Note: SChannel cannot use ephemeral keys; round-trip through PKCS#12 (no-op elsewhere).
                var pfx = leaf.Export(X509ContentType.Pkcs12);
                leaf.Dispose();
                leaf = X509CertificateLoader.LoadPkcs12(pfx, null);
            }

            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(certificatePath);
            var intermediates = new X509Certificate2Collection();
            for (var i = 1; i < all.Count; i++)
            {
                intermediates.Add(all[i]);
            }

            // offline: true — never fetch missing intermediates over the network.
            var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
            SpiffeId? identity = null;
            if (CertificateNames.TryGetUriSans(leaf, out var uris) && uris.Count == 1 && SpiffeId.TryParse(uris[0], out var id))
            {
                identity = id;
            }

            material = new CertificateMaterial(leaf, context, identity);
            error = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            error = $"{certificatePath} / {keyPath}: {e.Message}";
            return false;
        }
    }
}
