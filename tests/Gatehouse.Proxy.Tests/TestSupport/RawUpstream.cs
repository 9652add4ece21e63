using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Tests.TestSupport;

/// <summary>
/// An upstream on a raw socket (127.0.0.1:0) that records every request head exactly as the bytes arrived, with no
/// HTTP library in between to refuse or repair them: the witness for header injection and request smuggling. It
/// answers each head with a small 200 and keeps the connection open, so a second request smuggled into the same
/// bytes is read and recorded as a second head.
/// </summary>
public sealed class RawUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accept;

    private RawUpstream()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accept = AcceptAsync();
    }

    public string Address => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Every request head received (request line and header lines, without the final empty line).</summary>
    public ConcurrentQueue<string> Heads { get; } = new();

    public static RawUpstream Start() => new();

    /// <summary>The header lines (name → value, raw) of one recorded head.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> HeaderLines(string head)
        => head.Split("\r\n").Skip(1).Select(line =>
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? new KeyValuePair<string, string>(line, "") : new(line[..colon], line[(colon + 1)..].Trim());
        }).ToList();

    /// <summary>
    /// Waits until every connection the proxy opened has been closed (call after disposing the proxy), so that
    /// everything it ever sent has been recorded. Bounded, so a broken test ends instead of hanging.
    /// </summary>
    public async Task DrainAsync()
    {
        await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(20));
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _connections.Add(ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new List<byte>(4096);
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                var end = IndexOfHeadEnd(buffer);
                while (end < 0)
                {
                    var read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    buffer.AddRange(chunk.AsSpan(0, read).ToArray());
                    end = IndexOfHeadEnd(buffer);
                }

                var head = Encoding.Latin1.GetString(buffer.GetRange(0, end).ToArray());
                buffer.RemoveRange(0, end + 4);
                Heads.Enqueue(head);
                var length = HeaderLines(head).Where(h => h.Key.Equals("content-length", StringComparison.OrdinalIgnoreCase))
                    .Select(h => long.TryParse(h.Value, out var n) ? n : 0).FirstOrDefault();
                while (buffer.Count < length)
                {
                    var read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    buffer.AddRange(chunk.AsSpan(0, read).ToArray());
                }
                buffer.RemoveRange(0, (int)length);

                var response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nupstream ok"u8.ToArray();
                await stream.WriteAsync(response, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static int IndexOfHeadEnd(List<byte> buffer)
    {
        for (var i = 0; i + 3 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n')
            {
                return i;
            }
        }
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
            await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
        _stop.Dispose();
    }
}
