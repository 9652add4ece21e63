using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tls;

/// <summary>The outcome of loading material from files: a value, or every error.</summary>
internal readonly record struct LoadResult<T>(T? Value, IReadOnlyList<string> Errors) where T : class
{
    [MemberNotNullWhen(true, nameof(Value))]
    public bool Success => Value is not null;
}

/// <summary>
/// Material built from a set of files (certificates, keys, bundles) and rebuilt when their content changes.
/// </summary>
/// <remarks>
/// Concurrency: <see cref="Current"/> is a volatile reference to an immutable snapshot, so readers never lock.
/// At most once per poll interval, the first reader hashes the files (a few KB); only when the hash differs is the
/// material parsed, and only one thread does it (others keep using the current snapshot). A failed load keeps the
/// last good snapshot and is logged once per distinct content. Content hashing (not timestamps) catches Kubernetes'
/// atomic <c>..data</c> symlink swap of mounted Secrets and same-second rewrites.
/// </remarks>
internal sealed class ReloadingFileSource<T> where T : class
{
    private readonly string _owner;
    private readonly IReadOnlyList<string> _files;
    private readonly Func<LoadResult<T>> _load;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly Lock _reloadLock = new();
    private volatile T _current;
    private byte[] _loadedHash;
    private byte[]? _failedHash;
    private long _nextCheckTimestamp;

    private ReloadingFileSource(string owner, IReadOnlyList<string> files, Func<LoadResult<T>> load, TimeProvider time, TimeSpan pollInterval, ILogger logger, T initial, byte[] hash)
    {
        _owner = owner;
        _files = files;
        _load = load;
        _time = time;
        _pollInterval = pollInterval;
        _logger = logger;
        _current = initial;
        _loadedHash = hash;
        _nextCheckTimestamp = time.GetTimestamp() + ToTicks(pollInterval);
    }

    /// <summary>Loads the material once; fails with every error when it cannot (a bad first load must stop startup).</summary>
    public static LoadResult<ReloadingFileSource<T>> Create(string owner, IReadOnlyList<string> files, Func<LoadResult<T>> load, TimeProvider time, TimeSpan pollInterval, ILogger logger)
    {
        var hash = HashFiles(files);
        var result = load();
        if (!result.Success)
        {
            return new(null, result.Errors);
        }

        TlsLog.MaterialReloaded(logger, owner);
        return new(new ReloadingFileSource<T>(owner, files, load, time, pollInterval, logger, result.Value, hash ?? []), []);
    }

    /// <summary>The current snapshot; checks the files first when the poll interval has elapsed.</summary>
    public T Current
    {
        get
        {
            var now = _time.GetTimestamp();
            if (now >= Volatile.Read(ref _nextCheckTimestamp))
            {
                CheckForChanges(now);
            }

            return _current;
        }
    }

    /// <summary>Checks the files now, regardless of the poll interval (e.g. on SIGHUP or from tests).</summary>
    public void CheckNow() => CheckForChanges(_time.GetTimestamp());

    private void CheckForChanges(long now)
    {
        if (!_reloadLock.TryEnter())
        {
            return; // Another handshake is checking; use the current snapshot.
        }

        try
        {
            Volatile.Write(ref _nextCheckTimestamp, now + ToTicks(_pollInterval));
            var hash = HashFiles(_files);
            if (hash is null || hash.AsSpan().SequenceEqual(_loadedHash) || (_failedHash is not null && hash.AsSpan().SequenceEqual(_failedHash)))
            {
                return; // unreadable right now (mid-rotation), unchanged, or already known bad
            }

            var result = _load();
            if (result.Success)
            {
                _current = result.Value;
                _loadedHash = hash;
                _failedHash = null;
                TlsLog.MaterialReloaded(_logger, _owner);
            }
            else
            {
                _failedHash = hash;
                TlsLog.MaterialReloadFailed(_logger, _owner, string.Join("; ", result.Errors));
            }
        }
        finally
        {
            _reloadLock.Exit();
        }
    }

    private long ToTicks(TimeSpan interval) => (long)(interval.TotalSeconds * _time.TimestampFrequency);

    private static byte[]? HashFiles(IReadOnlyList<string> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            foreach (var file in files)
            {
                hash.AppendData(File.ReadAllBytes(file));
                hash.AppendData([0]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return hash.GetHashAndReset();
    }
}
