using System.Globalization;
using System.Net;

namespace Gatehouse.Configuration;

/// <summary>Parsers and formatters for the config's value syntaxes (durations, sizes, addresses, CIDRs, URLs).</summary>
internal static class ConfigValues
{
    private static readonly (string Suffix, long Ticks)[] s_durationUnits =
    [
        ("ms", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond),
        ("m", TimeSpan.TicksPerMinute),
        ("h", TimeSpan.TicksPerHour),
        ("d", TimeSpan.TicksPerDay),
    ];

    private static readonly (string Suffix, long Bytes)[] s_sizeUnits =
    [
        ("KiB", 1L << 10),
        ("MiB", 1L << 20),
        ("GiB", 1L << 30),
        ("B", 1),
    ];

    /// <summary><c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>, or a plain integer of seconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        foreach (var (suffix, ticks) in s_durationUnits)
        {
            // Note: "ms" is tested before "m"/"s" by the order above, and "5ms" must not parse as "5m" + "s".
            if (text.EndsWith(suffix, StringComparison.Ordinal) && TryParseCount(text[..^suffix.Length], out var count))
            {
                if (count > TimeSpan.MaxValue.Ticks / ticks)
                {
                    return false;
                }

                value = TimeSpan.FromTicks(count * ticks);
                return true;
            }
        }

        if (TryParseCount(text, out var seconds) && seconds <= TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerSecond)
        {
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return false;
    }

    /// <summary>The shortest exact form in the duration syntax (<c>30s</c>, <c>5m</c>, <c>1500ms</c>).</summary>
    public static string FormatDuration(TimeSpan value)
    {
        for (var i = s_durationUnits.Length - 1; i >= 0; i--)
        {
            var (suffix, ticks) = s_durationUnits[i];
            if (value.Ticks % ticks == 0)
            {
                return (value.Ticks / ticks).ToString(CultureInfo.InvariantCulture) + suffix;
            }
        }

        return value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    /// <summary>A plain integer of bytes, or <c>16KiB</c>, <c>10MiB</c>, <c>1GiB</c>, <c>512B</c>.</summary>
    public static bool TryParseSize(string text, out long value)
    {
        value = 0;
        foreach (var (suffix, bytes) in s_sizeUnits)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                if (!TryParseCount(text[..^suffix.Length].TrimEnd(), out var count) || count > long.MaxValue / bytes)
                {
                    return false;
                }

                value = count * bytes;
                return true;
            }
        }

        return TryParseCount(text, out value);
    }

    private static bool TryParseCount(string text, out long value)
    {
        value = 0;
        return text.Length > 0 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary><c>host:port</c> where host is a DNS name, an IPv4 address, <c>[IPv6]</c>, <c>*</c> or <c>+</c>.</summary>
    public static string? ValidateAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1)
        {
            return $"'{address}' is not a host:port address (e.g. 127.0.0.1:8080, [::1]:8443, 0.0.0.0:443)";
        }

        var host = address[..colon];
        var port = address[(colon + 1)..];
        if (!port.All(char.IsAsciiDigit) || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var portNumber)
            || portNumber > 65535)
        {
            return $"'{port}' is not a port number (0-65535; 0 picks a free port)";
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            return IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? null
                : $"'{host}' is not an IPv6 address";
        }

        if (host.Contains(':', StringComparison.Ordinal))
        {
            return $"IPv6 address '{host}' must be written in brackets, e.g. [{host}]:{port}";
        }

        if (host is "*" or "+" || IPAddress.TryParse(host, out _) || Uri.CheckHostName(host) == UriHostNameType.Dns)
        {
            return null;
        }

        return $"'{host}' is not a host name or IP address";
    }

    /// <summary>
    /// A SPIFFE trust domain name (SPIFFE-ID §2.1): 1 – 255 characters, lower-case letters, digits, '.', '-', '_'.
    /// The same rule as <c>SpiffeId</c>'s, kept here because configuration sits below identity.
    /// </summary>
    public static bool IsSpiffeTrustDomain(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 255)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An IP address or CIDR block (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>).</summary>
    // One parser for check and for the policy engine, so what validates is exactly what is enforced.
    public static bool IsCidr(string text) => Configuration.IpBlock.TryParse(text, out _, out _);

    /// <summary>Validates an absolute http(s) URL; with <paramref name="httpsUnlessLoopback"/>, http only for loopback hosts.</summary>
    public static string? ValidateUrl(string text, bool httpsUnlessLoopback)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host))
        {
            return $"'{text}' is not an absolute http(s) URL";
        }

        if (httpsUnlessLoopback && uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
        {
            // Note: keys and introspection answers decide who gets in; over plain http anyone on the path could
            // substitute them (design.md security invariants). Loopback is allowed for development only.
            return $"'{text}' must use https (http is allowed only for loopback hosts)";
        }

        return null;
    }

    /// <summary>True when a listener address (host:port) binds loopback only: 127.0.0.0/8, [::1] or localhost.</summary>
    public static bool IsLoopbackAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        var host = (colon < 0 ? address : address[..colon]).Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>RFC 9110 §5.1: a field name is a token.</summary>
    public static bool IsHeaderName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));

    /// <summary>Null when <paramref name="path"/> holds an RSA (≥ 2048 bits) or EC private key in PEM, else why not.</summary>
    public static string? ValidatePrivateKeyPem(string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "cannot read the key file: " + ex.Message;
        }

        using (var ec = System.Security.Cryptography.ECDsa.Create())
        {
            try
            {
                ec.ImportFromPem(pem);
                return null;
            }
            catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException)
            {
            }
        }

        using var rsa = System.Security.Cryptography.RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return rsa.KeySize >= 2048 ? null : $"the RSA key has {rsa.KeySize} bits; at least 2048 are needed";
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return "no RSA or EC private key (PEM) in the file";
        }
    }
}
