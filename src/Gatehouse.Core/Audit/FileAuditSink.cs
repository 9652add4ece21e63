using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Audit;

/// <summary>
/// Appends audit lines to a JSON Lines file and rotates it by size: when the next line would take the file past
/// <c>maxFileBytes</c>, <c>audit.jsonl</c> becomes <c>audit.jsonl.1</c>, <c>.1</c> becomes <c>.2</c> … and the
/// oldest beyond <c>maxFiles</c> is deleted. A line is never split across files.
/// </summary>
public sealed class FileAuditSink : IAuditSink
{
    private readonly string _path;
    private readonly long _maxFileBytes;
    private readonly int _maxFiles;
    private readonly ILogger _logger;
    private FileStream? _stream;
    private long _length;

    /// <param name="path">The active file, e.g. <c>/var/log/gatehouse/audit.jsonl</c>. Its directory is created.</param>
    /// <param name="maxFileBytes">Rotate before the file would exceed this size (<c>audit.max_file_bytes</c>).</param>
    /// <param name="maxFiles">Rotated files kept besides the active one (<c>audit.max_files</c>); 0 keeps none.</param>
    /// <param name="logger">Logger for rotation events.</param>
    public FileAuditSink(string path, long maxFileBytes, int maxFiles, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFileBytes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFiles);
        _path = Path.GetFullPath(path);
        _maxFileBytes = maxFileBytes;
        _maxFiles = maxFiles;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public string Name => "file";

    /// <summary>The full path of the active file.</summary>
    public string FilePath => _path;

    /// <inheritdoc/>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        var stream = _stream ?? Open();
        if (_length > 0 && _length + line.Length > _maxFileBytes)
        {
            await RotateAsync(cancellationToken).ConfigureAwait(false);
            stream = Open();
        }

        await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
        _length += line.Length;
    }

    /// <inheritdoc/>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_stream is { } stream)
        {
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_stream is { } stream)
        {
            _stream = null;
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private FileStream Open()
    {
        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // Note: FileShare.Read so operators can tail the file; Append so a restart continues the same file.
        var stream = new FileStream(_path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 64 * 1024,
        });
        _length = stream.Length;
        _stream = stream;
        return stream;
    }

    private async ValueTask RotateAsync(CancellationToken cancellationToken)
    {
        if (_stream is { } stream)
        {
            _stream = null;
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
        }

        if (_maxFiles == 0)
        {
            File.Delete(_path);
        }
        else
        {
            File.Delete(RotatedPath(_maxFiles));
            for (var i = _maxFiles - 1; i >= 1; i--)
            {
                var source = RotatedPath(i);
                if (File.Exists(source))
                {
                    File.Move(source, RotatedPath(i + 1), overwrite: true);
                }
            }

            File.Move(_path, RotatedPath(1), overwrite: true);
        }

        _length = 0;
        AuditLog.FileRotated(_logger, _path, _maxFiles);
    }

    private string RotatedPath(int index) => _path + "." + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
