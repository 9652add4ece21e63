using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Tests.Contract;

/// <summary>A response read off the wire by <see cref="RawHttp"/>.</summary>
public sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body)
{
    public string? Header(string name)
    {
        var values = Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        return values.Count == 0 ? null : string.Join(", ", values);
    }

    public override string ToString() => $"{Status} reason={Header("x-gatehouse-reason")} body={Body}";
}

/// <summary>
/// HTTP/1.1 over a raw <see cref="TcpClient"/>: the request target and header bytes are sent exactly as given
/// (HttpClient would resolve dot segments, drop fragments and refuse CR/LF), so path-normalization bypass cases and
/// hostile headers reach the server unaltered. One request per connection (<c>Connection: close</c>).
/// </summary>
public static class RawHttp
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>Sends <c>METHOD target HTTP/1.1</c> with a Host header and <paramref name="headers"/> (raw lines, unvalidated).</summary>
    public static Task<RawResponse> SendAsync(Uri server, string method, string target, string host = "api.example.com", IEnumerable<string>? headers = null, string? body = null)
    {
        var builder = new StringBuilder();
        builder.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
        builder.Append("Host: ").Append(host).Append("\r\n");
        foreach (var line in headers ?? [])
        {
            builder.Append(line).Append("\r\n");
        }
        if (body is not null)
        {
            builder.Append("Content-Length: ").Append(Encoding.UTF8.GetByteCount(body)).Append("\r\n");
        }
        builder.Append("Connection: close\r\n\r\n");
        if (body is not null)
        {
            builder.Append(body);
        }
        return SendBytesAsync(server, Encoding.Latin1.GetBytes(builder.ToString()));
    }

    /// <summary>
    /// Sends raw bytes and reads one response (status line, headers, body by Content-Length or to EOF). With
    /// <paramref name="halfClose"/>, the sending side is shut down after the bytes (a client that stops mid-message).
    /// </summary>
    public static async Task<RawResponse> SendBytesAsync(Uri server, byte[] request, bool halfClose = false)
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var tcp = new TcpClient(AddressFamily.InterNetwork);
        await tcp.ConnectAsync(IPAddress.Parse(server.Host), server.Port, cts.Token);
        var stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(request, cts.Token);
            await stream.FlushAsync(cts.Token);
            if (halfClose)
            {
                tcp.Client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (IOException)
        {
            // The server may answer and close before reading everything (e.g. 431); read what it sent.
        }

        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int headerEnd = -1;
        int contentLength = -1;
        var chunked = false;
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(chunk, cts.Token);
            }
            catch (IOException)
            {
                read = 0;
            }
            if (read == 0)
            {
                break;
            }
            buffer.Write(chunk, 0, read);
            if (headerEnd < 0)
            {
                headerEnd = IndexOf(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), "\r\n\r\n"u8);
                if (headerEnd >= 0)
                {
                    var head = Encoding.Latin1.GetString(buffer.GetBuffer(), 0, headerEnd);
                    foreach (var line in head.Split("\r\n").Skip(1))
                    {
                        var colon = line.IndexOf(':', StringComparison.Ordinal);
                        if (colon > 0 && line[..colon].Trim().Equals("content-length", StringComparison.OrdinalIgnoreCase))
                        {
                            contentLength = int.Parse(line[(colon + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                        }
                        if (colon > 0 && line[..colon].Trim().Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase))
                        {
                            chunked = line[(colon + 1)..].Contains("chunked", StringComparison.OrdinalIgnoreCase);
                        }
                    }
                }
            }
            if (headerEnd >= 0 && contentLength >= 0 && buffer.Length >= headerEnd + 4 + contentLength)
            {
                break;
            }
        }

        var all = buffer.ToArray();
        if (headerEnd < 0)
        {
            throw new IOException($"no HTTP response head received ({all.Length} bytes: {Encoding.Latin1.GetString(all)})");
        }
        var text = Encoding.Latin1.GetString(all, 0, headerEnd);
        var lines = text.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        var status = int.Parse(statusParts[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
        }
        var bodyBytes = all.AsSpan(headerEnd + 4);
        if (contentLength >= 0 && bodyBytes.Length > contentLength)
        {
            bodyBytes = bodyBytes[..contentLength];
        }
        var bodyText = Encoding.UTF8.GetString(bodyBytes);
        if (chunked)
        {
            bodyText = Dechunk(bodyText);
        }
        return new RawResponse(status, headers, bodyText);
    }

    private static string Dechunk(string body)
    {
        var result = new StringBuilder();
        var position = 0;
        while (position < body.Length)
        {
            var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (lineEnd < 0)
            {
                break;
            }
            var size = Convert.ToInt32(body[position..lineEnd].Split(';')[0].Trim(), 16);
            if (size == 0)
            {
                break;
            }
            result.Append(body, lineEnd + 2, Math.Min(size, body.Length - lineEnd - 2));
            position = lineEnd + 2 + size + 2;
        }
        return result.ToString();
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);
}
