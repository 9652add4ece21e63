using System.Collections.Concurrent;
using System.Text;
using Gatehouse.Audit;

namespace Gatehouse.Tests.Audit;

/// <summary>Collects lines in memory.</summary>
internal sealed class MemorySink(string name = "memory") : IAuditSink
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public int Flushes;
    public bool Disposed { get; private set; }
    public string Name { get; } = name;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        Lines.Enqueue(Encoding.UTF8.GetString(line.Span));
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Flushes);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

/// <summary>Blocks every write until the gate opens: a saturated sink.</summary>
internal sealed class GatedSink : IAuditSink
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MemorySink Inner { get; } = new();
    public string Name => "gated";
    public Task FirstWriteStarted => _firstWrite.Task;

    public void Open() => _gate.TrySetResult();

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        _firstWrite.TrySetResult();
        await _gate.Task;
        await Inner.WriteAsync(line, cancellationToken);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Throws on every write and flush.</summary>
internal sealed class ThrowingSink : IAuditSink
{
    public string Name => "broken";

    public ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken) =>
        throw new IOException("disk full");

    public ValueTask FlushAsync(CancellationToken cancellationToken) => throw new IOException("disk full");

    public ValueTask DisposeAsync() => throw new IOException("close failed");
}
