using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gatehouse.Tests.Cli;

namespace Gatehouse.Tests.Deploy;

/// <summary>
/// In a container the working directory is "/". The host used to watch its content root (the working directory)
/// recursively with inotify, i.e. every directory of /proc and /sys: 51,310 watches and seconds before ready in the
/// image test. The content root is now the executable's directory, so the working directory is never walked.
/// </summary>
public sealed class WorkingDirectoryTests
{
    [Fact]
    public async Task Run_DoesNotWatchTheWorkingDirectoryTree()
    {
        Assert.True(OperatingSystem.IsLinux(), "inotify watches are read from /proc; this suite runs on Linux.");
        var dir = CliRunner.TempDirectory();
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "keygen", "--out", dir)).ExitCode);
        // A working directory with 300 subdirectories: a recursive watch would add one inotify watch per directory.
        var workingDirectory = Path.Combine(dir, "cwd");
        for (var i = 0; i < 300; i++)
        {
            Directory.CreateDirectory(Path.Combine(workingDirectory, $"d{i / 20}", $"e{i}"));
        }
        var adminPort = FreePort();
        var config = Path.Combine(dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, $$"""
            version: 1
            issuers:
              corp: { issuer: "https://idp.example.com/", jwks_file: {{Path.Combine(dir, "jwks.json")}}, audiences: [orders] }
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
              - { name: admin, mode: admin, address: "127.0.0.1:{{adminPort}}" }
            routes:
              - { name: orders, match: { path_prefix: /orders }, upstream: "http://127.0.0.1:9", authentication: { issuers: [corp] } }
            """);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "gatehouse.dll"), "run", "-c", config })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            var ready = false;
            for (var i = 0; i < 300 && !ready && !process.HasExited; i++)
            {
                try
                {
                    ready = (await admin.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                }
                if (!ready)
                {
                    await Task.Delay(100);
                }
            }
            Assert.True(ready, "never ready");

            var watches = 0;
            foreach (var fdinfo in Directory.EnumerateFiles($"/proc/{process.Id}/fdinfo"))
            {
                try
                {
                    watches += File.ReadLines(fdinfo).Count(l => l.StartsWith("inotify ", StringComparison.Ordinal));
                }
                catch (IOException)
                {
                    // the descriptor closed while being read
                }
            }
            Assert.True(watches < 300, $"{watches} inotify watches: the working directory tree is being watched");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            await process.WaitForExitAsync();
        }
        _ = await stderr;
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
