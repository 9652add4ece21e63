using System.Globalization;
using System.Net;

namespace Gatehouse.Configuration;

/// <summary>A CIDR block (IPv4 or IPv6); a bare address is a /32 or /128.</summary>
internal sealed class IpBlock
{
    private readonly byte[] _network;
    private readonly int _prefixLength;

    private IpBlock(byte[] network, int prefixLength)
    {
        _network = network;
        _prefixLength = prefixLength;
    }

    public static bool TryParse(string text, out IpBlock? block, out string? error)
    {
        block = null;
        error = null;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        addressText = addressText.Trim();
        // Note: IPAddress.TryParse follows inet_aton, where "192.168.1" is 192.168.0.1 and "10.1" is 10.0.0.1: a
        // shorthand block would silently mean another network. IPv4 must be four decimal parts; no zone ids.
        if (!IPAddress.TryParse(addressText, out var address)
            || addressText.Contains('%', StringComparison.Ordinal)
            || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IsDottedQuad(addressText)))
        {
            error = $"'{text}' is not an IP address or CIDR block (IPv4 needs four decimal parts, e.g. 192.168.1.0/24)";
            return false;
        }

        var bytes = address.GetAddressBytes();
        var maxPrefix = bytes.Length * 8;
        var prefix = maxPrefix;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
        {
            error = $"'{text}': prefix length must be 0..{maxPrefix}";
            return false;
        }

        // An IPv4-mapped IPv6 block (::ffff:10.0.0.0/104) is the IPv4 block it maps: sources are unwrapped to IPv4
        // before matching, so the IPv6 form would otherwise never match anything.
        if (address.IsIPv4MappedToIPv6 && prefix >= 96)
        {
            bytes = bytes[12..];
            prefix -= 96;
            maxPrefix = 32;
        }

        // Zero the host bits so "10.1.2.3/8" means 10.0.0.0/8.
        for (var bit = prefix; bit < maxPrefix; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        block = new IpBlock(bytes, prefix);
        return true;
    }

    public bool Contains(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[16];
        if (!address.TryWriteBytes(buffer, out var written))
        {
            return false;
        }

        ReadOnlySpan<byte> bytes = buffer[..written];
        if (written == 16 && _network.Length == 4 && IsIPv4Mapped(bytes))
        {
            bytes = bytes[12..]; // ::ffff:a.b.c.d from a dual-stack socket
        }

        if (bytes.Length != _network.Length)
        {
            return false;
        }

        var fullBytes = _prefixLength / 8;
        if (!bytes[..fullBytes].SequenceEqual(_network.AsSpan(0, fullBytes)))
        {
            return false;
        }

        var remaining = _prefixLength % 8;
        if (remaining == 0)
        {
            return true;
        }

        var mask = (byte)(0xFF << (8 - remaining));
        return (bytes[fullBytes] & mask) == _network[fullBytes];
    }

    private static bool IsIPv4Mapped(ReadOnlySpan<byte> bytes) =>
        !bytes[..10].ContainsAnyExcept((byte)0) && bytes[10] == 0xFF && bytes[11] == 0xFF;

    public override string ToString() => $"{new IPAddress(_network)}/{_prefixLength}";

    private static bool IsDottedQuad(string text)
    {
        var parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }
}
