using System.Runtime.InteropServices;
using Gatehouse.Configuration;
using Gatehouse.Diagnostics;
using Gatehouse.Runtime;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Hosting;

/// <summary>The outcome of the latest reload attempt, shown on <c>/config</c>.</summary>
public sealed record ReloadStatus(
    DateTimeOffset? LastAttempt,
    DateTimeOffset? LastSuccess,
    long Revision,
    IReadOnlyList<string> LastErrors,
    long Successes,
    long Failures);

/// <summary>
/// Watches the config file and every file it references; on a change (or SIGHUP) loads, validates and compiles
/// a new snapshot and swaps it in. An invalid change is rejected with the same messages as <c>gatehouse check</c>,
/// logged, counted, and the last good config keeps serving.
/// </summary>
/// <remarks>
/// Note: files are polled (size + mtime) rather than watched with inotify: Kubernetes ConfigMap volumes replace a
/// symlinked directory atomically, which inotify on the file path does not report reliably.
/// </remarks>
public sealed partial class ConfigReloader : IDisposable
{
    private readonly GatehouseServerOptions _options;
    private readonly SnapshotHolder _snapshots;
    private readonly SnapshotCompiler _compiler;
    private readonly GatehouseMetrics _metrics;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private Dictionary<string, (long Length, DateTime Modified)> _fingerprints = new(StringComparer.Ordinal);
    private PosixSignalRegistration? _sighup;
    private ReloadStatus _status;
    private long _successes;
    private long _failures;

    public ConfigReloader(
        GatehouseServerOptions options,
        SnapshotHolder snapshots,
        SnapshotCompiler compiler,
        GatehouseMetrics metrics,
        ILogger<ConfigReloader> logger)
    {
        _options = options;
        _snapshots = snapshots;
        _compiler = compiler;
        _metrics = metrics;
        _logger = logger;
        _status = new ReloadStatus(null, snapshots.Current.LoadedAt, snapshots.Current.Revision, [], 0, 0);
        _fingerprints = Fingerprint(WatchedFiles(options.ConfigPath!, options.ReferencedFiles));
    }

    public ReloadStatus Status => Volatile.Read(ref _status);

    /// <summary>Raised on SIGHUP before the config reload, so listeners re-read certificates and bundles at once.</summary>
    public event Action? CertificateReloadRequested;

    public void Start()
    {
        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                CertificateReloadRequested?.Invoke();
                _ = ReloadAsync("SIGHUP");
            });
        }
        _ = PollAsync(_stopping.Token);
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.WatchInterval, _options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var current = Fingerprint(_fingerprints.Keys);
                if (!SameFingerprints(current, _fingerprints))
                {
                    await ReloadAsync("file change").ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>Loads, validates and swaps in the config. Never throws; returns whether the new config is in force.</summary>
    public async Task<bool> ReloadAsync(string trigger)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var path = _options.ConfigPath!;
            var now = _options.TimeProvider.GetUtcNow();
            var result = ConfigLoader.LoadFile(path, _options.Environment);
            // Watch what the file references now, even when it is invalid, so fixing a referenced file retries.
            _fingerprints = Fingerprint(WatchedFiles(path, result.ReferencedFiles));
            if (!result.IsValid)
            {
                var errors = result.Errors.Select(e => e.ToString()).ToList();
                foreach (var error in errors)
                {
                    LogReloadError(_logger, error);
                }
                LogReloadRejected(_logger, trigger, errors.Count, _snapshots.Current.Revision);
                _metrics.RecordConfigReload(success: false);
                var failures = Interlocked.Increment(ref _failures);
                Volatile.Write(ref _status, _status with { LastAttempt = now, LastErrors = errors, Failures = failures });
                return false;
            }

            var previous = _snapshots.Current;
            SnapshotCompilation compilation;
            try
            {
                compilation = _compiler.Compile(result.Config!, previous);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A compile failure of a validated config is a bug; it must still never take the proxy down.
                LogReloadError(_logger, $"{path}: compile failed: {ex.Message}");
                _metrics.RecordConfigReload(success: false);
                var failures = Interlocked.Increment(ref _failures);
                Volatile.Write(ref _status, _status with { LastAttempt = now, LastErrors = [$"compile failed: {ex.Message}"], Failures = failures });
                return false;
            }

            GatehouseServer.RegisterIssuerMetrics(_metrics, compilation.Started);
            foreach (var issuer in compilation.Started)
            {
                _ = issuer.StartAsync(CancellationToken.None);
            }
            if (RestartRequiredSettings.ListenersChanged(previous.Config, result.Config!))
            {
                LogRestartOnlyChanges(_logger, "listeners");
            }
            var restartRequired = RestartRequiredSettings.Changed(previous.Config, result.Config!);
            if (restartRequired.Count > 0)
            {
                LogRestartRequired(_logger, string.Join(", ", restartRequired));
            }
            _snapshots.Install(compilation.Snapshot);
            _ = RetireAsync(compilation.Retired);

            _metrics.RecordConfigReload(success: true);
            var successes = Interlocked.Increment(ref _successes);
            Volatile.Write(ref _status, new ReloadStatus(now, now, compilation.Snapshot.Revision, [], successes, _status.Failures));
            LogReloaded(_logger, trigger, compilation.Snapshot.Revision);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    // Retired issuer runtimes are disposed after in-flight requests that captured the old snapshot have finished.
    private async Task RetireAsync(IReadOnlyList<Tokens.IssuerRuntime> retired)
    {
        if (retired.Count == 0)
        {
            return;
        }
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), _options.TimeProvider, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var issuer in retired)
        {
            await issuer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static IEnumerable<string> WatchedFiles(string configPath, IReadOnlyList<string> referenced) =>
        referenced.Prepend(Path.GetFullPath(configPath)).Distinct(StringComparer.Ordinal);

    private static Dictionary<string, (long, DateTime)> Fingerprint(IEnumerable<string> files)
    {
        var result = new Dictionary<string, (long, DateTime)>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            try
            {
                var info = new FileInfo(file);
                result[file] = info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, DateTime.MinValue);
            }
            catch (IOException)
            {
                result[file] = (-1, DateTime.MinValue);
            }
            catch (UnauthorizedAccessException)
            {
                result[file] = (-1, DateTime.MinValue);
            }
        }
        return result;
    }

    private static bool SameFingerprints(Dictionary<string, (long, DateTime)> a, Dictionary<string, (long, DateTime)> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }
        foreach (var (file, print) in a)
        {
            if (!b.TryGetValue(file, out var other) || other != print)
            {
                return false;
            }
        }
        return true;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _sighup?.Dispose();
        _stopping.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Configuration reloaded ({Trigger}): revision {Revision} in force")]
    private static partial void LogReloaded(ILogger logger, string trigger, long revision);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Configuration reload rejected ({Trigger}): {Count} error(s); revision {Revision} keeps serving")]
    private static partial void LogReloadRejected(ILogger logger, string trigger, int count, long revision);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogReloadError(ILogger logger, string error);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Changes to {Sections} take effect on restart; routes, issuers and policies were reloaded")]
    private static partial void LogRestartOnlyChanges(ILogger logger, string sections);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Settings fixed at startup changed: {Settings}; they take effect on restart, everything else was reloaded")]
    private static partial void LogRestartRequired(ILogger logger, string settings);

    // Next free id: 1006.
}
