using System.Buffers;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// RFC 9110 §7.6.1: the <c>Connection</c> header names further header fields that belong to this connection only;
/// a proxy removes them before forwarding. YARP removes the fixed hop-by-hop list, not the nominated ones.
/// </summary>
internal static class ConnectionOptions
{
    // RFC 9110 §5.6.2 tchar: a nominated name that is not a token names no header (and must not reach Remove, which
    // throws on invalid names).
    private static readonly SearchValues<char> s_tchar =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Removes from the upstream request every field the caller's <c>Connection</c> header names.</summary>
    public static void RemoveNominated(StringValues connection, HttpHeaders headers, HttpHeaders? contentHeaders)
    {
        List<string>? names = null;
        foreach (var value in connection)
        {
            Collect(value, ref names);
        }

        foreach (var name in names ?? [])
        {
            headers.Remove(name);
            contentHeaders?.Remove(name);
        }
    }

    /// <summary>Removes from the client response every field one upstream <c>Connection</c> value names.</summary>
    public static void RemoveNominated(string? connection, IHeaderDictionary headers)
    {
        List<string>? names = null;
        Collect(connection, ref names);
        foreach (var name in names ?? [])
        {
            headers.Remove(name);
        }
    }

    // Allocates only when a value names a removable field (close and keep-alive name none).
    private static void Collect(string? value, ref List<string>? names)
    {
        if (value is null)
        {
            return;
        }

        var span = value.AsSpan();
        foreach (var range in span.Split(','))
        {
            var option = span[range].Trim(" \t");
            if (IsRemovable(option))
            {
                (names ??= []).Add(option.ToString());
            }
        }
    }

    // Note: close and keep-alive are the common options and name no field; Content-Length is the body's framing,
    // which the forwarding stack sets itself, so it is never removed on a caller's say-so.
    private static bool IsRemovable(ReadOnlySpan<char> option) =>
        !option.IsEmpty
        && !option.ContainsAnyExcept(s_tchar)
        && !option.Equals("close", StringComparison.OrdinalIgnoreCase)
        && !option.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        && !option.Equals("content-length", StringComparison.OrdinalIgnoreCase);
}
