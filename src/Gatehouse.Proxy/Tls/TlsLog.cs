using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tls;

/// <summary>Log events of the TLS layer. Event ids 1600–1699 are reserved for it; tests assert on ids, not text.</summary>
internal static partial class TlsLog
{
    public static class Ids
    {
        public const int ClientCertificateRejected = 1600;
        public const int ClientCertificateMissing = 1601;
        public const int MaterialReloaded = 1602;
        public const int MaterialReloadFailed = 1603;
        public const int UpstreamCertificateRejected = 1604;
        public const int ClientCertificateAccepted = 1605;
    }

    [LoggerMessage(Ids.ClientCertificateRejected, LogLevel.Warning, "Listener {Listener}: client certificate rejected: {Reason} (x5t#S256 {Thumbprint}, subject {Subject})")]
    public static partial void ClientCertificateRejected(ILogger logger, string listener, string reason, string thumbprint, string? subject);

    [LoggerMessage(Ids.ClientCertificateMissing, LogLevel.Information, "Listener {Listener}: handshake refused: a client certificate is required ({Reason})")]
    public static partial void ClientCertificateMissing(ILogger logger, string listener, string reason);

    [LoggerMessage(Ids.ClientCertificateAccepted, LogLevel.Debug, "Listener {Listener}: client certificate accepted: {Identity} (x5t#S256 {Thumbprint})")]
    public static partial void ClientCertificateAccepted(ILogger logger, string listener, string identity, string thumbprint);

    [LoggerMessage(Ids.MaterialReloaded, LogLevel.Information, "{Owner}: TLS certificates and trust bundles (re)loaded from disk")]
    public static partial void MaterialReloaded(ILogger logger, string owner);

    [LoggerMessage(Ids.MaterialReloadFailed, LogLevel.Warning, "{Owner}: TLS material on disk changed but cannot be loaded; keeping the last good material: {Errors}")]
    public static partial void MaterialReloadFailed(ILogger logger, string owner, string errors);

    [LoggerMessage(Ids.UpstreamCertificateRejected, LogLevel.Warning, "Outbound to expected peer {ExpectedPeer}: upstream certificate rejected: {Reason}")]
    public static partial void UpstreamCertificateRejected(ILogger logger, string expectedPeer, string reason);
}
