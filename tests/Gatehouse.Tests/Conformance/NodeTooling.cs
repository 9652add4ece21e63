using System.Diagnostics;
using System.Text;

namespace Gatehouse.Tests.Conformance;

/// <summary>
/// Locates <c>tests/conformance</c> (the pinned node tooling) and runs node/npm there with bounded waits.
/// Node.js is a hard requirement of the conformance suite: when it is missing the tests fail with this message,
/// they are never skipped.
/// </summary>
internal static class NodeTooling
{
    public const string MissingNodeMessage =
        "The conformance tests need Node.js >= 20.19 and npm on PATH (they start the real oidc-provider from "
        + "tests/conformance). Install Node.js 20.19 or newer with npm, then run `npm ci --no-audit --no-fund` in "
        + "tests/conformance (the fixture does it itself when node_modules is missing). See docs/conformance.md.";

    private static readonly SemaphoreSlim s_installLock = new(1, 1);

    /// <summary>The <c>tests/conformance</c> folder of this checkout, found by walking up from the test binaries.</summary>
    public static string ToolingDirectory { get; } = FindToolingDirectory();

    private static string FindToolingDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "conformance");
            if (File.Exists(Path.Combine(candidate, "package.json")) && File.Exists(Path.Combine(candidate, "oidc-server.mjs")))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException(
            $"tests/conformance/package.json not found above {AppContext.BaseDirectory}: run the tests from a Gatehouse checkout.");
    }

    /// <summary>Checks node is present and new enough, and runs <c>npm ci</c> when the pinned packages are not installed.</summary>
    public static async Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        var version = await RunAsync("node", ["--version"], ToolingDirectory, TimeSpan.FromSeconds(20), cancellationToken, missingMessage: MissingNodeMessage).ConfigureAwait(false);
        if (version.ExitCode != 0 || !TryParseNodeVersion(version.Output, out var major, out var minor) || major < 20 || (major == 20 && minor < 19))
        {
            throw new InvalidOperationException($"node --version answered '{version.Output.Trim()}' (exit {version.ExitCode}). {MissingNodeMessage}");
        }

        await s_installLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsInstalled())
            {
                return;
            }
            var install = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], ToolingDirectory, TimeSpan.FromMinutes(5), cancellationToken, missingMessage: MissingNodeMessage).ConfigureAwait(false);
            if (install.ExitCode != 0 || !IsInstalled())
            {
                throw new InvalidOperationException(
                    $"`npm ci --no-audit --no-fund` in {ToolingDirectory} failed (exit {install.ExitCode}); the registry must be reachable "
                    + $"on a fresh clone. Output:\n{install.Output}");
            }
        }
        finally
        {
            s_installLock.Release();
        }
    }

    private static bool IsInstalled() =>
        File.Exists(Path.Combine(ToolingDirectory, "node_modules", "oidc-provider", "package.json"))
        && File.Exists(Path.Combine(ToolingDirectory, "node_modules", "jose", "package.json"))
        && File.Exists(Path.Combine(ToolingDirectory, "node_modules", ".package-lock.json"));

    private static bool TryParseNodeVersion(string text, out int major, out int minor)
    {
        major = minor = 0;
        var parts = text.Trim().TrimStart('v').Split('.');
        return parts.Length >= 2 && int.TryParse(parts[0], out major) && int.TryParse(parts[1], out minor);
    }

    /// <summary>Runs a short-lived command; kills it (whole tree) when it outlives <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        string? missingMessage = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {fileName}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"could not start '{fileName}': {e.Message}. {missingMessage}", e);
        }

        using (process)
        {
            process.StandardInput.Close();
            var output = new StringBuilder();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"'{fileName} {string.Join(' ', arguments)}' did not finish within {timeout}.");
            }
            output.Append(await stdout.ConfigureAwait(false)).Append(await stderr.ConfigureAwait(false));
            return (process.ExitCode, output.ToString());
        }
    }
}
