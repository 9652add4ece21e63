using System.Runtime.CompilerServices;

namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>Golden files under tests/Gatehouse.Proxy.Tests/ExtAuthz/Golden (regenerate with Golden/regen.sh).</summary>
internal static class Golden
{
    public static string Directory { get; } = Locate();

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    public static string Text(string name) => File.ReadAllText(Path.Combine(Directory, name));

    private static string Locate([CallerFilePath] string thisFile = "")
    {
        // Note: read from the source tree (no copy-to-output items in the shared test csproj).
        var directory = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "Golden"));
        return System.IO.Directory.Exists(directory)
            ? directory
            : throw new DirectoryNotFoundException("Golden files not found at " + directory);
    }
}
