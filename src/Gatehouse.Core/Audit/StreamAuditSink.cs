namespace Gatehouse.Audit;

/// <summary>Writes audit lines to a stream, typically standard output (<c>audit.stdout: true</c>).</summary>
/// <remarks>
/// Note: when console logs also go to stdout, lines of the two can interleave only at line boundaries as long
/// as each flush is small; deployments that need a strictly separate trail should use the file sink.
/// </remarks>
public sealed class StreamAuditSink : IAuditSink
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;

    /// <param name="stream">The stream to write to, e.g. <see cref="Console.OpenStandardOutput()"/>.</param>
    /// <param name="name">Sink name for metrics and logs.</param>
    /// <param name="leaveOpen">Whether disposing the sink leaves <paramref name="stream"/> open.</param>
    public StreamAuditSink(Stream stream, string name = "stdout", bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _leaveOpen = leaveOpen;
        Name = name;
    }

    /// <summary>Standard output.</summary>
    public static StreamAuditSink StandardOutput() => new(Console.OpenStandardOutput(), "stdout", leaveOpen: false);

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken) =>
        _stream.WriteAsync(line, cancellationToken);

    /// <inheritdoc/>
    public ValueTask FlushAsync(CancellationToken cancellationToken) => new(_stream.FlushAsync(cancellationToken));

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_leaveOpen)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
