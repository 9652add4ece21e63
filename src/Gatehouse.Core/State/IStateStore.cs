namespace Gatehouse.State;

/// <summary>Outcome of <see cref="IStateStore.TryAddAsync"/>.</summary>
public enum StateAddResult
{
    /// <summary>The key was not there (or had expired) and is now held for the TTL.</summary>
    Added,
    /// <summary>The key is already held: for the DPoP replay cache, a replay.</summary>
    Exists,
    /// <summary>The backend could not answer (unreachable, timed out, or full): callers fail closed.</summary>
    Unavailable,
}

/// <summary>Outcome of <see cref="IStateStore.GetAsync"/>.</summary>
public readonly struct StateValue
{
    private StateValue(bool found, bool unavailable, byte[]? value)
    {
        Found = found;
        Unavailable = unavailable;
        Value = value;
    }

    /// <summary>The key is held; <see cref="Value"/> is its value.</summary>
    public bool Found { get; }

    /// <summary>The backend could not answer: callers treat it as a miss (caches) or fail closed.</summary>
    public bool Unavailable { get; }

    /// <summary>The stored bytes when <see cref="Found"/>.</summary>
    public byte[]? Value { get; }

    public static StateValue Hit(byte[] value) => new(true, false, value);

    public static readonly StateValue Miss = new(false, false, null);

    public static readonly StateValue Down = new(false, true, null);
}

/// <summary>
/// The few things replicas must agree on (docs/architecture.md, "Scaling out"): the DPoP proof replay cache, and
/// optionally the introspection result and ext_authz decision caches. Keys are fingerprints (SHA-256 prefixes),
/// never tokens; every entry has a TTL. Implementations: <see cref="MemoryStateStore"/> (one process) and a Redis
/// store in the host (shared by replicas). No method throws for an unavailable backend: it is a value.
/// </summary>
public interface IStateStore
{
    /// <summary><c>memory</c> or <c>redis</c>.</summary>
    string Backend { get; }

    /// <summary>True while the backend answers (memory: always; Redis: while connected).</summary>
    bool IsHealthy { get; }

    /// <summary>Holds <paramref name="key"/> for <paramref name="ttl"/> unless it is already held (Redis SET NX PX).</summary>
    ValueTask<StateAddResult> TryAddAsync(string key, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Reads a value stored by <see cref="SetAsync"/>.</summary>
    ValueTask<StateValue> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> for <paramref name="ttl"/>; false when the backend did not take it.</summary>
    ValueTask<bool> SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="value"/> for <paramref name="ttl"/> unless <paramref name="key"/> is already held, and
    /// returns what the key holds afterwards: <paramref name="value"/> when this call stored it, the value another
    /// caller (replica) stored first otherwise. One atomic step, so every replica ends up with the same value (the
    /// shared DPoP server nonces use it).
    /// </summary>
    ValueTask<StateValue> GetOrAddAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken);
}
