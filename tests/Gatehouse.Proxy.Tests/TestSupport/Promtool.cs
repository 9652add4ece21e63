using System.Diagnostics;

namespace Gatehouse.Tests.TestSupport;

/// <summary>
/// Prometheus' own linter, <c>promtool check metrics</c>: from PATH, else unpacked from Debian's <c>prometheus</c>
/// package (as .ci/run does: <c>apt-get download</c> + <c>dpkg-deb -x</c>, no server installed or started). When it can
/// be neither found nor installed the test fails, saying why: the exposition is never left unchecked.
/// </summary>
internal static class Promtool
{
    private static readonly Lazy<Task<string>> s_path = new(LocateOrInstallAsync);

    /// <summary>Runs <c>promtool check metrics</c> on <paramref name="exposition"/>: exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var promtool = await s_path.Value;
        var start = new ProcessStartInfo(promtool, ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static async Task<string> LocateOrInstallAsync()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "promtool"))
            .FirstOrDefault(File.Exists);
        if (onPath is not null)
        {
            return onPath;
        }

        // One unpacked copy per machine and user, reused by later runs.
        var directory = Path.Combine(Path.GetTempPath(), $"gatehouse-promtool-{Environment.UserName}");
        var promtool = Path.Combine(directory, "root", "usr", "bin", "promtool");
        if (File.Exists(promtool))
        {
            return promtool;
        }

        Directory.CreateDirectory(directory);
        await RunAsync("apt-get", ["download", "-qq", "prometheus"], directory);
        var deb = Directory.GetFiles(directory, "prometheus_*.deb").OrderByDescending(f => f, StringComparer.Ordinal).First();
        await RunAsync("dpkg-deb", ["-x", deb, Path.Combine(directory, "root")], directory);
        return File.Exists(promtool)
            ? promtool
            : throw new InvalidOperationException($"promtool: {deb} unpacked without usr/bin/promtool");
    }

    private static async Task RunAsync(string file, string[] arguments, string directory)
    {
        var start = new ProcessStartInfo(file, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"promtool is not on PATH and '{file}' cannot run to fetch Debian's prometheus package: {ex.Message}", ex);
        }

        using (process)
        {
            var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"promtool is not on PATH and '{file} {string.Join(' ', arguments)}' failed (exit {process.ExitCode}; run `apt-get update` first?): {await stdout}{await stderr}");
            }
        }
    }
}
