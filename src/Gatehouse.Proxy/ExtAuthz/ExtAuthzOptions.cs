namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>Settings of an ext_authz listener (<c>mode: ext_authz_grpc</c> or <c>ext_authz_http</c>).</summary>
public sealed record ExtAuthzOptions
{
    /// <summary>The listener name copied into <see cref="Model.AuthorizationRequest.Listener"/>.</summary>
    /// <remarks>Defaults to null.</remarks>
    public string? ListenerName { get; init; }

    /// <summary>Largest accepted gRPC request message, in bytes; larger → RESOURCE_EXHAUSTED.</summary>
    /// <remarks>Defaults to 4 MiB, the gRPC default receive limit.</remarks>
    public int MaxReceiveMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// HTTP mode only: the <c>http_service.path_prefix</c> Envoy prepends to the original path. It is removed before
    /// deciding; a request without it is denied (404, <c>route.not_found</c>).
    /// </summary>
    /// <remarks>Defaults to empty (no prefix).</remarks>
    public string PathPrefix { get; init; } = "";

    /// <summary>
    /// HTTP mode only: read the peer's SPIFFE ID and certificate from <c>x-forwarded-client-cert</c> (Envoy
    /// <c>forward_client_cert_details: SANITIZE_SET</c>). Only for an authorizer reachable solely from Envoy.
    /// </summary>
    /// <remarks>Defaults to false.</remarks>
    public bool TrustForwardedClientCert { get; init; }

    /// <summary>
    /// Put the parametrised part of reason codes (<c>scope.missing:orders.write</c>) in denial bodies. Off, only
    /// the stable code (<c>scope.missing</c>) is sent to the client; dynamic metadata always carries full reasons.
    /// </summary>
    /// <remarks>Defaults to false.</remarks>
    public bool IncludeErrorDetails { get; init; }

    /// <summary>
    /// HTTP mode only: the status of a denial Gatehouse could not decide (the engine's 5xx). Envoy's HTTP ext_authz
    /// client treats every 5xx as an error, which <c>failure_mode_allow: true</c> turns into an allow.
    /// </summary>
    /// <remarks>Defaults to 403. Must be 400–499.</remarks>
    public int StatusOnUnavailable
    {
        get => _statusOnUnavailable;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 400);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 499);
            _statusOnUnavailable = value;
        }
    }

    private readonly int _statusOnUnavailable = 403;
}
