using System.Globalization;
using System.Net;

namespace Gatehouse.Proxy.Hosting;

/// <summary>Parses listener addresses: <c>127.0.0.1:8080</c>, <c>[::1]:8443</c>, <c>0.0.0.0:80</c>, <c>*:80</c>, <c>localhost:0</c>.</summary>
public static class ListenAddress
{
    public static bool TryParse(string value, out IPEndPoint endPoint)
    {
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            return false;
        }
        var hostPart = value[..colon];
        if (!int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }
        if (hostPart.StartsWith('[') && hostPart.EndsWith(']'))
        {
            hostPart = hostPart[1..^1];
        }
        IPAddress? address = hostPart switch
        {
            "*" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(hostPart, out var parsed) ? parsed : null,
        };
        if (address is null)
        {
            return false;
        }
        endPoint = new IPEndPoint(address, port);
        return true;
    }
}
