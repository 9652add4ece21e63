namespace Gatehouse.Testing;

/// <summary>
/// Temporary directories for tests. All of them live under one root per test process, deleted when the process
/// exits, so repeated runs on a CI machine or a developer box never fill the temp folder with leftovers (a test
/// that fails half-way, or a child process still holding a file, would otherwise leak its directory).
/// </summary>
/// <remarks>Linked into every test project by Directory.Build.props.</remarks>
internal static class TestTemp
{
    private static readonly Lazy<string> s_root = new(CreateRoot, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>A new, empty directory whose name starts with <paramref name="prefix"/>.</summary>
    public static string CreateDirectory(string prefix)
    {
        var path = Path.Combine(s_root.Value, prefix + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string CreateRoot()
    {
        SweepRootsOfExitedRuns();
        var root = Directory.CreateTempSubdirectory($"gatehouse-tests-{Environment.ProcessId}-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Note: best effort; a file still open elsewhere must not turn a green run red at exit.
            }
            catch (UnauthorizedAccessException)
            {
                // Note: as above.
            }
        };
        return root;
    }

    // Why: the test host can be ended before ProcessExit handlers finish; whatever a run left behind is removed by
    // the next run, once the process that owned it is gone.
    private static void SweepRootsOfExitedRuns()
    {
        foreach (var stale in Directory.EnumerateDirectories(Path.GetTempPath(), "gatehouse-tests-*"))
        {
            var parts = Path.GetFileName(stale).Split('-');
            if (parts.Length < 4 || !int.TryParse(parts[2], out var pid) || pid == Environment.ProcessId || IsRunning(pid))
            {
                continue;
            }

            try
            {
                Directory.Delete(stale, recursive: true);
            }
            catch (IOException)
            {
                // Note: another test process may be sweeping the same directory.
            }
            catch (UnauthorizedAccessException)
            {
                // Note: someone else's directory; not ours to remove.
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
