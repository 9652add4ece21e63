using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Tests.TestSupport;

/// <summary>
/// A real <c>redis-server</c> (Debian package <c>redis-server</c>, installed by .ci/run) on a free loopback port, no
/// persistence, owned by the test: started, stopped and restarted on the same port by its own process handle.
/// Fails (never skips) when redis-server is not installed.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _executable;
    private readonly string _directory;
    private Process? _process;

    private RedisServer(string executable, string directory, int port)
    {
        _executable = executable;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => "127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<RedisServer> StartAsync()
    {
        var executable = Find() ?? throw new InvalidOperationException(
            "redis-server is not installed: the state tests need a real Redis (Debian: apt-get install redis-server; .ci/run installs it).");
        var server = new RedisServer(executable, Gatehouse.Testing.TestTemp.CreateDirectory("redis-"), FreePort());
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts the server (again) on its port and waits until it answers PING (bounded).</summary>
    public async Task RestartAsync()
    {
        Stop();
        var start = new ProcessStartInfo(_executable)
        {
            ArgumentList = { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--daemonize", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!await PingAsync())
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode} (port {Port})");
            }

            await Task.Delay(50, deadline.Token);
        }
    }

    /// <summary>Kills the server (as an outage would) and waits for it to exit.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        _process = null;
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("PING\r\n"));
            var buffer = new byte[16];
            var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = Path.Combine(dir, "redis-server");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
