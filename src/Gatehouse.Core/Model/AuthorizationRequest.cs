using System.Net;

namespace Gatehouse.Model;

/// <summary>
/// A request to decide on, independent of the host that received it (gateway, sidecar, ext_authz gRPC/HTTP,
/// <c>gatehouse explain</c>). Hosts fill it once; the engine never touches ASP.NET types.
/// </summary>
public sealed class AuthorizationRequest
{
    public required string Method { get; init; }
    private readonly string _host = "";

    /// <summary>
    /// Host without port. Normalized here, once, for every host adapter: lower-cased (RFC 9110 §4.2.3: hosts are
    /// case-insensitive) and without the trailing dot of a fully qualified name, so route matching and
    /// <c>to.hosts</c> conditions always see the same name (<c>Admin.Example.com.</c> is <c>admin.example.com</c>).
    /// </summary>
    public required string Host
    {
        get => _host;
        init => _host = NormalizeHost(value);
    }
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
    /// <summary>Lower-cases and removes one trailing dot; allocation-free when already normal.</summary>
    public static string NormalizeHost(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var trimmed = host.EndsWith('.') ? host[..^1] : host;
        foreach (var c in trimmed)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                return trimmed.ToLowerInvariant();
            }
        }
        return trimmed;
    }

    /// <summary>W3C trace id, when the request carries one.</summary>
    public string? TraceId { get; init; }

    /// <summary>
    /// The transaction this request belongs to (the <c>txn</c> claim of draft-ietf-oauth-transaction-tokens §4):
    /// the id a gateway mints for an external request, or the one a verified Txn-Token carries. Null when the
    /// request is part of no transaction.
    /// </summary>
    public string? TransactionId { get; init; }
}
