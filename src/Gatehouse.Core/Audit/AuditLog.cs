using Microsoft.Extensions.Logging;

namespace Gatehouse.Audit;

/// <summary>
/// Log events of the audit area: EventIds 1400-1449 (docs/event-ids.md). Never logs a record's content, only
/// counts, sink names and paths.
/// </summary>
internal static partial class AuditLog
{
    [LoggerMessage(1400, LogLevel.Information, "Audit pipeline started: sinks {Sinks}, queue capacity {Capacity}", EventName = "AuditPipelineStarted")]
    public static partial void PipelineStarted(ILogger logger, string sinks, int capacity);

    [LoggerMessage(1401, LogLevel.Information, "Audit pipeline stopped: {Written} records written, {Dropped} dropped, {SinkErrors} sink errors", EventName = "AuditPipelineStopped")]
    public static partial void PipelineStopped(ILogger logger, long written, long dropped, long sinkErrors);

    [LoggerMessage(1402, LogLevel.Warning, "Audit queue was full: {Dropped} records dropped before this one (total {Total})", EventName = "AuditRecordsDropped")]
    public static partial void RecordsDropped(ILogger logger, long dropped, long total);

    [LoggerMessage(1403, LogLevel.Error, "Audit sink {Sink} failed ({Failures} failures so far); the record is lost for this sink", EventName = "AuditSinkFailed")]
    public static partial void SinkFailed(ILogger logger, Exception exception, string sink, long failures);

    [LoggerMessage(1404, LogLevel.Information, "Rotated audit file {Path} (keeping {MaxFiles} rotated files)", EventName = "AuditFileRotated")]
    public static partial void FileRotated(ILogger logger, string path, int maxFiles);

    [LoggerMessage(1405, LogLevel.Warning, "Audit sink {Sink} failed to close", EventName = "AuditSinkCloseFailed")]
    public static partial void SinkCloseFailed(ILogger logger, Exception exception, string sink);

    [LoggerMessage(1406, LogLevel.Error, "Audit consumer stopped unexpectedly; further records are dropped and counted", EventName = "AuditConsumerFaulted")]
    public static partial void ConsumerFaulted(ILogger logger, Exception exception);

    // Next free id: 1407 (1450-1499 belong to Gatehouse.Diagnostics).
}
