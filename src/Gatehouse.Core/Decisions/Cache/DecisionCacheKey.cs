using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Gatehouse.Model;

namespace Gatehouse.Decisions.Cache;

/// <summary>
/// The identity of a decision for <see cref="DecisionCache"/>: (credential fingerprint, workload, method, host,
/// path). Built from an <see cref="AuthorizationRequest"/> without allocating: the strings are the request's own,
/// and every other input a decision can depend on is folded into one 128-bit SHA-256 prefix
/// (<see cref="Material"/>). Equality is exact (ordinal) on every component.
/// </summary>
/// <remarks>
/// Note: the path component is the raw path (before normalization). Normalization is a function of the raw path and
/// the config (cleared on reload), so keying on it is as sound as keying on the normalized path and only splits
/// entries for differently-encoded spellings of one path.
/// </remarks>
public readonly struct DecisionCacheKey : IEquatable<DecisionCacheKey>
{
    private const int StackLimit = 1024;

    private DecisionCacheKey(UInt128 material, string? workload, string method, string host, string path)
    {
        Material = material;
        Workload = workload;
        Method = method;
        Host = host;
        Path = path;
    }

    /// <summary>
    /// First 128 bits of SHA-256 over the credential and connection facts: the <c>Authorization</c> header (the
    /// token fingerprint), the <c>txn-token</c> header, <c>Cookie</c> and the query (where configured credentials may live), the peer certificate
    /// thumbprint (RFC 8705 binding), source address, port, scheme and listener. Never the token itself.
    /// </summary>
    public UInt128 Material { get; }

    /// <summary>The peer's SPIFFE ID, or null.</summary>
    public string? Workload { get; }

    public string Method { get; }

    /// <summary>Host, lower-cased by the adapter.</summary>
    public string Host { get; }

    /// <summary>Raw path without query.</summary>
    public string Path { get; }

    /// <summary>
    /// Creates the key of <paramref name="request"/>. Returns false when the request must never be answered from
    /// a cache: it carries a DPoP proof, which is single-use (RFC 9449 §11.1) and must be checked every time.
    /// </summary>
    public static bool TryCreate(AuthorizationRequest request, out DecisionCacheKey key)
    {
        ArgumentNullException.ThrowIfNull(request);
        key = default;
        if (request.GetHeader("dpop") is not null)
        {
            return false;
        }

        var authorization = request.GetHeader("authorization");
        var cookie = request.GetHeader("cookie");
        // Note: the Txn-Token is a credential too (draft-ietf-oauth-transaction-tokens-10 §8): two requests that differ
        // only in it are different decisions (another subject, another transaction, or a forged token).
        var txnToken = request.GetHeader("txn-token");
        Span<byte> address = stackalloc byte[16];
        var addressLength = request.SourceAddress is { } ip && ip.TryWriteBytes(address, out var written) ? written : 0;

        // Each component is length-prefixed, so no two different inputs produce the same byte string.
        var size = Length(authorization) + Length(cookie) + Length(txnToken) + Length(request.Query) + Length(request.PeerCertificateThumbprint)
            + Length(request.Scheme) + Length(request.Listener) + 4 + addressLength + 4;
        byte[]? rented = null;
        var buffer = size <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(size));
        try
        {
            var offset = 0;
            Append(buffer, ref offset, authorization);
            Append(buffer, ref offset, cookie);
            Append(buffer, ref offset, txnToken);
            Append(buffer, ref offset, request.Query);
            Append(buffer, ref offset, request.PeerCertificateThumbprint);
            Append(buffer, ref offset, request.Scheme);
            Append(buffer, ref offset, request.Listener);
            BinaryPrimitives.WriteInt32LittleEndian(buffer[offset..], addressLength);
            offset += 4;
            address[..addressLength].CopyTo(buffer[offset..]);
            offset += addressLength;
            BinaryPrimitives.WriteInt32LittleEndian(buffer[offset..], request.Port);
            offset += 4;

            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(buffer[..offset], hash);
            key = new DecisionCacheKey(
                BinaryPrimitives.ReadUInt128LittleEndian(hash),
                request.PeerIdentity,
                request.Method,
                request.Host,
                request.RawPath);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                // The buffer held credentials: clear it before it goes back to the pool.
                CryptographicOperations.ZeroMemory(rented.AsSpan(0, size));
                ArrayPool<byte>.Shared.Return(rented);
            }
            else
            {
                CryptographicOperations.ZeroMemory(buffer);
            }
        }
    }

    private static int Length(string? value) => 4 + ((value?.Length ?? 0) * sizeof(char));

    private static void Append(Span<byte> buffer, ref int offset, string? value)
    {
        // -1 marks "absent" so that an absent header differs from an empty one.
        BinaryPrimitives.WriteInt32LittleEndian(buffer[offset..], value?.Length ?? -1);
        offset += 4;
        if (value is null)
        {
            return;
        }

        var bytes = MemoryMarshal.AsBytes(value.AsSpan());
        bytes.CopyTo(buffer[offset..]);
        offset += bytes.Length;
    }

    /// <inheritdoc/>
    public bool Equals(DecisionCacheKey other) =>
        Material == other.Material
        && string.Equals(Method, other.Method, StringComparison.Ordinal)
        && string.Equals(Host, other.Host, StringComparison.Ordinal)
        && string.Equals(Path, other.Path, StringComparison.Ordinal)
        && string.Equals(Workload, other.Workload, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DecisionCacheKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Material, Workload, Method, Host, Path);

    public static bool operator ==(DecisionCacheKey left, DecisionCacheKey right) => left.Equals(right);

    public static bool operator !=(DecisionCacheKey left, DecisionCacheKey right) => !left.Equals(right);
}
