namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>Golden files under tests/Gatehouse.Proxy.Tests/ExtAuthz/Golden (regenerate with Golden/regen.sh).</summary>
internal static class Golden
{
    public static string Directory { get; } = Locate();

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    public static string Text(string name) => File.ReadAllText(Path.Combine(Directory, name));

    private static string Locate()
    {
        // Why: found from the test's output directory, never from [CallerFilePath] — deterministic CI builds map
        // source paths to "/_/", which exists on no disk.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var golden = Path.Combine(dir.FullName, "tests", "Gatehouse.Proxy.Tests", "ExtAuthz", "Golden");
            if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")) && System.IO.Directory.Exists(golden))
            {
                return golden;
            }
        }

        throw new DirectoryNotFoundException("Golden files not found above " + AppContext.BaseDirectory);
    }
}
