using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Tests.Tokens;

/// <summary>A request the loopback server received.</summary>
public sealed record LoopbackRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>What the loopback server answers; <see cref="Drop"/> closes the connection without a response.</summary>
public sealed record LoopbackResponse(int Status, byte[] Body, string ContentType = "application/json")
{
    public TimeSpan Delay { get; init; }
    public bool Drop { get; init; }

    /// <summary>No Content-Length: the body ends when the connection closes (HTTP/1.1 §6.3 rule 8).</summary>
    public bool OmitContentLength { get; init; }

    public static LoopbackResponse Json(string json, int status = 200) => new(status, Encoding.UTF8.GetBytes(json));

    public static LoopbackResponse Dropped() => new(0, []) { Drop = true };
}

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1, port 0 (Core tests cannot use ASP.NET): one request per connection,
/// a replaceable handler for fault injection (down, slow, 500, garbage, huge documents, key rotation).
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _accept;
    private readonly ConcurrentDictionary<string, int> _counts = new();

    public LoopbackServer(Func<LoopbackRequest, LoopbackResponse> handler)
    {
        Handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accept = Task.Run(AcceptLoop);
    }

    public Uri BaseUri { get; }

    public Func<LoopbackRequest, LoopbackResponse> Handler { get; set; }

    public ConcurrentQueue<LoopbackRequest> Requests { get; } = new();

    public int Count(string path) => _counts.GetValueOrDefault(path);

    public string Url(string path) => new Uri(BaseUri, path).ToString();

    private async Task AcceptLoop()
    {
        while (!_cts.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_cts.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var buffer = new List<byte>();
            var one = new byte[4096];
            int headerEnd;
            while ((headerEnd = IndexOfHeaderEnd(buffer)) < 0)
            {
                var n = await stream.ReadAsync(one, _cts.Token);
                if (n == 0)
                {
                    return;
                }

                buffer.AddRange(one.AsSpan(0, n));
            }

            var head = Encoding.ASCII.GetString(buffer.GetRange(0, headerEnd).ToArray());
            var lines = head.Split("\r\n");
            var parts = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
            }

            var length = headers.TryGetValue("Content-Length", out var cl) ? int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var body = buffer.Skip(headerEnd + 4).ToList();
            while (body.Count < length)
            {
                var n = await stream.ReadAsync(one, _cts.Token);
                if (n == 0)
                {
                    break;
                }

                body.AddRange(one.AsSpan(0, n));
            }

            var request = new LoopbackRequest(parts[0], parts[1], headers, Encoding.UTF8.GetString(body.ToArray()));
            Requests.Enqueue(request);
            _counts.AddOrUpdate(parts[1], 1, (_, c) => c + 1);
            var response = Handler(request);
            if (response.Delay > TimeSpan.Zero)
            {
                await Task.Delay(response.Delay, _cts.Token);
            }

            if (response.Drop)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                return;
            }

            var lengthHeader = response.OmitContentLength ? "" : $"Content-Length: {response.Body.Length}\r\n";
            var header = $"HTTP/1.1 {response.Status} X\r\nContent-Type: {response.ContentType}\r\n{lengthHeader}Connection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(header), _cts.Token);
            await stream.WriteAsync(response.Body, _cts.Token);
            await stream.FlushAsync(_cts.Token);
        }
        catch (Exception)
        {
            // Client went away or the server is stopping.
        }
    }

    private static int IndexOfHeaderEnd(List<byte> b)
    {
        for (var i = 0; i + 3 < b.Count; i++)
        {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception)
        {
        }

        _cts.Dispose();
    }
}
