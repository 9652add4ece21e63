namespace Gatehouse.Audit;

/// <summary>
/// A destination for audit lines. Called only from the pipeline's single consumer, so implementations need not be
/// thread-safe. A sink that throws is counted and logged; the pipeline keeps going with the next line.
/// </summary>
public interface IAuditSink : IAsyncDisposable
{
    /// <summary>A short name for metrics and logs (<c>file</c>, <c>stdout</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Writes one UTF-8 JSON line including its trailing <c>\n</c>. The memory is reused by the pipeline after
    /// the returned task completes: copy it if it must outlive the call.
    /// </summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken);

    /// <summary>Makes what was written durable/visible; called when the queue runs empty and on flush/shutdown.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}
