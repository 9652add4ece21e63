using System.Diagnostics.CodeAnalysis;

namespace Gatehouse.DevCa;

/// <summary>Paths written by <see cref="DevCertificateFiles"/>.</summary>
public sealed record DevCertificatePaths(string Certificate, string Key, string Bundle);

/// <summary>
/// Writes development CA and workload PEM files. Every file is written to a temporary name and renamed into place,
/// so a process watching it (certificate rotation) never reads half a file; private keys get mode 0600 on Unix.
/// File names follow SPIRE's helper: <c>svid.pem</c>, <c>svid_key.pem</c>, <c>bundle.pem</c>; the CA is
/// <c>ca.pem</c> + <c>ca_key.pem</c>.
/// </summary>
public static class DevCertificateFiles
{
    public const string CaCertificateFile = "ca.pem";
    public const string CaKeyFile = "ca_key.pem";
    public const string CertificateFile = "svid.pem";
    public const string KeyFile = "svid_key.pem";
    public const string BundleFile = "bundle.pem";

    /// <summary>Writes <c>ca.pem</c>, <c>ca_key.pem</c> (0600) and <c>bundle.pem</c> (= the CA certificate) into <paramref name="directory"/>.</summary>
    public static bool TryWriteAuthority(DevCertificateAuthority ca, string directory, [NotNullWhen(true)] out DevCertificatePaths? paths, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(ca);
        paths = new DevCertificatePaths(Path.Combine(directory, CaCertificateFile), Path.Combine(directory, CaKeyFile), Path.Combine(directory, BundleFile));
        return TryWriteAll(directory, [(paths.Certificate, ca.CertificatePem, false), (paths.Key, ca.KeyPem, true), (paths.Bundle, ca.CertificatePem, false)], ref paths, out error);
    }

    /// <summary>Writes <c>svid.pem</c>, <c>svid_key.pem</c> (0600) and <c>bundle.pem</c> into <paramref name="directory"/>.</summary>
    public static bool TryWriteWorkload(IssuedCertificate issued, string directory, [NotNullWhen(true)] out DevCertificatePaths? paths, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(issued);
        paths = new DevCertificatePaths(Path.Combine(directory, CertificateFile), Path.Combine(directory, KeyFile), Path.Combine(directory, BundleFile));
        return TryWriteAll(directory, [(paths.Certificate, issued.CertificatePem, false), (paths.Key, issued.KeyPem, true), (paths.Bundle, issued.BundlePem, false)], ref paths, out error);
    }

    /// <summary>Writes one file atomically (temp file + rename); <paramref name="secret"/> files are created 0600 on Unix.</summary>
    public static void WriteAtomically(string path, string content, bool secret)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private static bool TryWriteAll(string directory, (string Path, string Content, bool Secret)[] files, ref DevCertificatePaths? paths, [NotNullWhen(false)] out string? error)
    {
        try
        {
            Directory.CreateDirectory(directory);
            // Note: the key is written before the certificate so that a watcher that reloads on a certificate change
            // never pairs a new certificate with an old key for longer than one poll.
            foreach (var file in files.OrderByDescending(f => f.Secret))
            {
                WriteAtomically(file.Path, file.Content, file.Secret);
            }

            error = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            paths = null;
            error = e.Message;
            return false;
        }
    }
}
