using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Audit;

/// <summary>
/// Carries audit records off the request path: a bounded queue, one background consumer, any number of sinks.
/// </summary>
/// <remarks>
/// <para>Invariants (docs/audit.md):</para>
/// <list type="bullet">
/// <item><see cref="TryWrite(AuditRecord)"/> never blocks and never awaits: when the queue is full the record is
/// dropped, counted in <c>gatehouse_audit_dropped_total</c>, and the count is carried in the next written
/// record's <c>dropped_before</c>. Drops are never silent.</item>
/// <item>One consumer serializes each record once and hands the same line to every sink, in order.</item>
/// <item>A sink that throws is counted (<c>gatehouse_audit_sink_errors_total</c>) and logged; the consumer goes
/// on with the next sink and the next record.</item>
/// <item><see cref="FlushAsync"/> and <see cref="DisposeAsync"/> drain what was queued before they were called.</item>
/// </list>
/// </remarks>
public sealed class AuditPipeline : IAsyncDisposable
{
    // Note: sinks are flushed whenever the queue runs empty, and at least every this many records under
    // sustained load, so FlushAsync cannot starve behind a producer that never pauses.
    private const int FlushEvery = 1024;

    private readonly Channel<AuditRecord> _channel;
    private readonly IAuditSink[] _sinks;
    private readonly IAuditMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly bool _includeQuery;
    private readonly Task _consumer;
    private TaskCompletionSource _flushSignal = NewSignal();
    private long _enqueued;
    private long _written;
    private long _processed;
    private long _flushed;
    private long _dropped;
    private long _pendingDrops;
    private long _sinkErrors;
    private int _disposed;

    /// <summary>Starts a pipeline writing to <paramref name="sinks"/>; the pipeline owns and disposes them.</summary>
    /// <param name="config">Queue capacity and whether to keep the query string.</param>
    /// <param name="sinks">Where lines go. May be empty (records are then only counted).</param>
    /// <param name="metrics">Drop/error/written counters; optional.</param>
    /// <param name="logger">Logger for EventIds 1400-1449; optional.</param>
    public AuditPipeline(AuditConfig config, IEnumerable<IAuditSink> sinks, IAuditMetrics? metrics = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(sinks);
        ArgumentOutOfRangeException.ThrowIfLessThan(config.QueueCapacity, 1);
        _sinks = [.. sinks];
        _metrics = metrics;
        _logger = logger ?? NullLogger.Instance;
        _includeQuery = config.IncludeQuery;

        // Note: FullMode.Wait with TryWrite, not DropWrite: DropWrite makes TryWrite return true while discarding
        // the item, so the drop could not be counted. With Wait, TryWrite returns false when full and never waits.
        _channel = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(config.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });

        AuditLog.PipelineStarted(_logger, _sinks.Length == 0 ? "(none)" : string.Join(",", _sinks.Select(s => s.Name)), config.QueueCapacity);
        _consumer = Task.Run(ConsumeAsync);
    }

    /// <summary>
    /// Builds the sinks <paramref name="config"/> asks for (<c>audit.path</c> → <see cref="FileAuditSink"/>,
    /// <c>audit.stdout</c> → <see cref="StreamAuditSink"/> on standard output) and starts the pipeline.
    /// <paramref name="extraSinks"/> (an embedder's own destinations) receive every record too.
    /// </summary>
    public static AuditPipeline FromConfig(AuditConfig config, IAuditMetrics? metrics = null, ILoggerFactory? loggerFactory = null, IReadOnlyList<IAuditSink>? extraSinks = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var factory = loggerFactory ?? NullLoggerFactory.Instance;
        var sinks = new List<IAuditSink>(2 + (extraSinks?.Count ?? 0));
        if (!string.IsNullOrEmpty(config.Path))
        {
            sinks.Add(new FileAuditSink(config.Path, config.MaxFileBytes, config.MaxFiles, factory.CreateLogger<FileAuditSink>()));
        }

        if (config.Stdout)
        {
            sinks.Add(StreamAuditSink.StandardOutput());
        }

        if (extraSinks is not null)
        {
            sinks.AddRange(extraSinks);
        }

        return new AuditPipeline(config, sinks, metrics, factory.CreateLogger<AuditPipeline>());
    }

    /// <summary>Records successfully queued so far.</summary>
    public long Enqueued => Volatile.Read(ref _enqueued);

    /// <summary>Records serialized and handed to the sinks so far.</summary>
    public long Written => Volatile.Read(ref _written);

    /// <summary>Records dropped so far (queue full, or written after shutdown).</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Sink write/flush failures so far.</summary>
    public long SinkErrors => Volatile.Read(ref _sinkErrors);

    /// <summary>Builds the record for a decision and queues it. Never blocks. False when it was dropped.</summary>
    public bool TryWrite(Decision decision, AuthorizationRequest request, TimeSpan latency, DateTimeOffset time) =>
        TryWrite(AuditRecord.Create(decision, request, latency, time, _includeQuery));

    /// <summary>Queues a record. Never blocks or awaits. False when the queue was full (the drop is counted).</summary>
    public bool TryWrite(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_channel.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref _enqueued);
            return true;
        }

        Interlocked.Increment(ref _dropped);
        Interlocked.Increment(ref _pendingDrops);
        _metrics?.RecordAuditDropped();
        return false;
    }

    /// <summary>
    /// Completes when every record queued before the call has been handed to the sinks and the sinks flushed
    /// (or the pipeline has stopped).
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Volatile.Read(ref _enqueued);
        while (true)
        {
            var signal = Volatile.Read(ref _flushSignal);
            if (Volatile.Read(ref _flushed) >= target)
            {
                return;
            }

            await signal.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops accepting records, drains what is queued into the sinks, flushes and disposes them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _channel.Writer.TryComplete();
        await _consumer.ConfigureAwait(false);
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                AuditLog.SinkCloseFailed(_logger, ex, sink.Name);
            }
        }

        AuditLog.PipelineStopped(_logger, Written, Dropped, SinkErrors);
    }

    private async Task ConsumeAsync()
    {
        var reader = _channel.Reader;
        var buffer = new ArrayBufferWriter<byte>(4096);
        var json = new Utf8JsonWriter(buffer, AuditRecord.WriterOptions);
        try
        {
            var sinceFlush = 0;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var record))
                {
                    await WriteOneAsync(record, buffer, json).ConfigureAwait(false);
                    Interlocked.Increment(ref _processed);
                    if (++sinceFlush >= FlushEvery)
                    {
                        sinceFlush = 0;
                        await FlushSinksAsync().ConfigureAwait(false);
                    }
                }

                sinceFlush = 0;
                await FlushSinksAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Note: only a bug gets here (sink failures are caught per call). Stop accepting so that every later
            // record is counted as dropped instead of queueing forever.
            AuditLog.ConsumerFaulted(_logger, ex);
            _channel.Writer.TryComplete();
        }
        finally
        {
            await json.DisposeAsync().ConfigureAwait(false);
            Volatile.Write(ref _flushed, long.MaxValue);
            Signal();
        }
    }

    private async ValueTask WriteOneAsync(AuditRecord record, ArrayBufferWriter<byte> buffer, Utf8JsonWriter json)
    {
        var dropped = Interlocked.Exchange(ref _pendingDrops, 0);
        if (dropped > 0)
        {
            record = record with { DroppedBefore = dropped };
            AuditLog.RecordsDropped(_logger, dropped, Dropped);
        }

        buffer.ResetWrittenCount();
        json.Reset(buffer);
        try
        {
            record.WriteTo(json);
            json.Flush();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // Note: a string that cannot be encoded (invalid UTF-16) loses this record only; it counts as a
            // drop so the next record still says that something is missing.
            Interlocked.Add(ref _pendingDrops, dropped + 1);
            Interlocked.Increment(ref _dropped);
            _metrics?.RecordAuditDropped();
            return;
        }

        buffer.Write("\n"u8);
        var line = buffer.WrittenMemory;
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.WriteAsync(line, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                SinkFailed(sink, ex);
            }
        }

        Interlocked.Increment(ref _written);
        _metrics?.RecordAuditWritten();
    }

    private async ValueTask FlushSinksAsync()
    {
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                SinkFailed(sink, ex);
            }
        }

        Volatile.Write(ref _flushed, Volatile.Read(ref _processed));
        Signal();
    }

    private void SinkFailed(IAuditSink sink, Exception ex)
    {
        var failures = Interlocked.Increment(ref _sinkErrors);
        _metrics?.RecordAuditSinkError(sink.Name);

        // Note: a sink that fails on every record (disk full) must not flood the log: log the 1st, 2nd, 4th,
        // 8th… failure; the metric counts every one.
        if ((failures & (failures - 1)) == 0)
        {
            AuditLog.SinkFailed(_logger, ex, sink.Name, failures);
        }
    }

    private void Signal() => Interlocked.Exchange(ref _flushSignal, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
