using System.Net;

namespace Gatehouse.Decisions;

/// <summary>
/// A request to decide on, independent of the host that received it (gateway, sidecar, ext_authz gRPC/HTTP,
/// <c>gatehouse explain</c>). Hosts fill it once; the engine never touches ASP.NET types.
/// </summary>
public sealed class AuthorizationRequest
{
    public required string Method { get; init; }
    /// <summary>Host without port, lower-cased by the host adapter.</summary>
    public required string Host { get; init; }
    public int Port { get; init; }
    public string Scheme { get; init; } = "http";
    /// <summary>The raw path as received (percent-encoded, no query). Normalized by the engine.</summary>
    public required string RawPath { get; init; }
    /// <summary>The query string including the leading <c>?</c>, or empty.</summary>
    public string Query { get; init; } = "";
    /// <summary>Header lookup (case-insensitive names). Multiple values are comma-joined.</summary>
    public required Func<string, string?> GetHeader { get; init; }
    public IPAddress? SourceAddress { get; init; }
    /// <summary>Verified workload identity of the peer (SPIFFE ID), when mTLS or a trusted XFCC provided one.</summary>
    public string? PeerIdentity { get; init; }
    /// <summary>SHA-256 of the peer's client certificate (DER), base64url, for RFC 8705 binding.</summary>
    public string? PeerCertificateThumbprint { get; init; }
    /// <summary>The listener name that received the request (routes may be bound to listeners).</summary>
    public string? Listener { get; init; }
    /// <summary>W3C trace id, when the request carries one.</summary>
    public string? TraceId { get; init; }
}
