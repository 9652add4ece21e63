namespace Gatehouse.Runtime;

/// <summary>
/// Holds the current snapshot and swaps it atomically. Readers take <see cref="Current"/> once per request.
/// </summary>
public sealed class SnapshotHolder
{
    private GatehouseSnapshot? _current;

    /// <summary>The snapshot in force. Throws before the first snapshot is installed (a startup bug, not user input).</summary>
    public GatehouseSnapshot Current =>
        Volatile.Read(ref _current) ?? throw new InvalidOperationException("No configuration snapshot has been installed.");

    public bool HasSnapshot => Volatile.Read(ref _current) is not null;

    /// <summary>Raised after a swap with the new snapshot (e.g. to clear decision caches).</summary>
    public event Action<GatehouseSnapshot>? Swapped;

    public void Install(GatehouseSnapshot snapshot)
    {
        Interlocked.Exchange(ref _current, snapshot);
        Swapped?.Invoke(snapshot);
    }
}
