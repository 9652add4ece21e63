using System.Buffers.Binary;

namespace Gatehouse.Tokens.Cache;

/// <summary>A SHA-256 digest as a value type: cache key compared on all 32 bytes, hashed on the first 8.</summary>
internal readonly struct Hash256 : IEquatable<Hash256>
{
    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    public Hash256(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != 32)
        {
            throw new ArgumentException("A SHA-256 digest is 32 bytes.", nameof(digest));
        }

        _a = BinaryPrimitives.ReadUInt64BigEndian(digest);
        _b = BinaryPrimitives.ReadUInt64BigEndian(digest[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(digest[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(digest[24..]);
    }

    public bool Equals(Hash256 other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is Hash256 other && Equals(other);

    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);

    /// <summary>First 16 lower-case hex characters (the first 8 bytes).</summary>
    public string ToFingerprint() => _a.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>All 64 lower-case hex characters (shared-cache keys: the full digest, never the token).</summary>
    public string ToHex() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{_a:x16}{_b:x16}{_c:x16}{_d:x16}");

    public static bool operator ==(Hash256 left, Hash256 right) => left.Equals(right);

    public static bool operator !=(Hash256 left, Hash256 right) => !left.Equals(right);
}
