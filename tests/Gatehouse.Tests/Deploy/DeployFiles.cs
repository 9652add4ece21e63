using System.Diagnostics;

namespace Gatehouse.Tests.Deploy;

/// <summary>Files of the checkout (found from the test output directory, never from source paths) and kubectl.</summary>
internal static class DeployFiles
{
    public static string Root { get; } = FindRoot();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Manifest(string name) => File.ReadAllText(Of("tests", "Gatehouse.Tests", "Deploy", "Manifests", name));

    /// <summary><c>kubectl kustomize DIR</c>: the manifests exactly as <c>kubectl apply -k</c> would send them.</summary>
    public static async Task<string> KustomizeAsync(string relativeDirectory)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(Of(relativeDirectory.Split('/')));
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("kubectl is required by the manifest tests (.ci/run installs it): " + ex.Message, ex);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kubectl kustomize {relativeDirectory} did not finish within a minute");
            }
            Assert.True(process.ExitCode == 0, $"kubectl kustomize {relativeDirectory} failed: {await stderr}");
            return await stdout;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Gatehouse.slnx not found above " + AppContext.BaseDirectory);
    }
}
