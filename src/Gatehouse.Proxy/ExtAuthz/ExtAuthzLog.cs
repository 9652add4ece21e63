using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>Diagnostic log messages of the ext_authz adapters. EventIds 7000-7099 (docs/ext-authz.md).</summary>
internal static partial class ExtAuthzLog
{
    [LoggerMessage(1700, LogLevel.Debug, "ext_authz gRPC call rejected: {GrpcStatus} {Detail}")]
    public static partial void CallRejected(ILogger logger, int grpcStatus, string detail);

    [LoggerMessage(1701, LogLevel.Error, "ext_authz decision failed; denying with 503")]
    public static partial void DecisionFailed(ILogger logger, Exception exception);

    [LoggerMessage(1702, LogLevel.Information, "ext_authz deadline exceeded after {TimeoutMs} ms")]
    public static partial void DeadlineExceeded(ILogger logger, double timeoutMs);

    [LoggerMessage(1703, LogLevel.Debug, "ext_authz check carried no HTTP attributes; denied")]
    public static partial void NotHttp(ILogger logger);

    [LoggerMessage(1704, LogLevel.Debug, "ext_authz HTTP check without the configured path prefix; denied")]
    public static partial void PrefixMissing(ILogger logger);

    // Next free id: 7005.
}
