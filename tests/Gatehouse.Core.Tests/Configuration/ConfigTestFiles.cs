namespace Gatehouse.Tests.Configuration;

/// <summary>A temporary directory with the files configs refer to (JWKS, secrets, PEMs), deleted on dispose.</summary>
public sealed class ConfigTestFiles : IDisposable
{
    public ConfigTestFiles()
    {
        Directory = Gatehouse.Testing.TestTemp.CreateDirectory("config-");
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var name in new[] { "jwks.json", "secret.txt", "hmac.key", "cert.pem", "key.pem", "ca.pem", "bundle.pem", "client.pem", "client-key.pem" })
        {
            File.WriteAllText(System.IO.Path.Combine(Directory, name), name == "jwks.json" ? "{\"keys\":[]}" : "placeholder");
        }

        // Txn-Token signing keys are parsed by the binder (a key that does not fit its algorithm is a config error).
        foreach (var name in new[] { "txn-1.pem", "txn-2.pem" })
        {
            using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            File.WriteAllText(System.IO.Path.Combine(Directory, name), key.ExportPkcs8PrivateKeyPem());
        }
    }

    public string Directory { get; }

    public string Path(string name) => System.IO.Path.Combine(Directory, name);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Note: a leftover temp directory must not fail a test run.
        }
    }

    /// <summary>The repository root (the folder holding Gatehouse.slnx), for samples and the schema.</summary>
    public static string RepositoryRoot() => Gatehouse.Tests.Audit.RepoPaths.Root;
}
