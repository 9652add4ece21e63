using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions.Cache;
using Gatehouse.Model;
using Gatehouse.Runtime;
using Gatehouse.State;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>How a lookup in the shared decision cache ended.</summary>
internal enum SharedLookup
{
    /// <summary>A live decision another replica (or this one) stored.</summary>
    Hit,
    /// <summary>Nothing usable under the key.</summary>
    Miss,
    /// <summary>The backend did not answer (or is known to be down): the engine decides.</summary>
    Unavailable,
}

/// <summary>
/// The ext_authz decision cache's shared tier (<c>state.backend: redis</c>, docs/state.md): decisions every replica
/// can answer from, behind each replica's in-process <see cref="DecisionCache"/> (the front tier).
/// </summary>
/// <remarks>
/// <para><b>Key.</b> <c>authz:</c> + base64url(SHA-256(config fingerprint ‖ <see cref="DecisionCacheKey"/>)): the
/// key's 128-bit credential material (itself a SHA-256 prefix over the Authorization header, cookie, query, peer
/// certificate, address, port, scheme, listener — never a token in the clear) and its workload, method, host and
/// path, each length-prefixed. The config fingerprint is a SHA-256 over the effective config of every section a
/// decision can depend on, so a reload (or a replica still on an older config) never reads a decision made under
/// other rules, and replicas on the same config share entries.</para>
/// <para><b>TTL.</b> min(<c>decision_cache.ttl</c>, the decision's validity (token <c>exp</c>)); the stored
/// decision's validity is cut to the same instant, so a replica that copies it into its front tier never keeps it
/// longer. Availability failures (5xx) are never stored.</para>
/// <para><b>Fail-safe.</b> When the backend is down, slow or returns something unreadable, the lookup is a miss and
/// the engine decides: a missing or stale shared entry can never produce an allow the engine would not give.</para>
/// </remarks>
internal sealed class SharedDecisionCache
{
    /// <summary>Top-level config sections that cannot change a decision (where audit goes, telemetry, the console,
    /// the state backend itself): left out of the fingerprint so replicas differing only there still share.</summary>
    private static readonly HashSet<string> s_notDecisionInputs = new(StringComparer.Ordinal)
    {
        "source_path", "audit", "telemetry", "admin", "state",
    };

    private readonly IStateStore _state;
    private readonly TimeProvider _time;
    private readonly ConditionalWeakTable<GatehouseSnapshot, byte[]> _fingerprints = [];
    private readonly Counter<long>? _lookups;
    private long _hits;
    private long _misses;
    private long _unavailable;
    private long _stored;

    public SharedDecisionCache(IStateStore state, TimeProvider time, Meter? meter)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(time);
        _state = state;
        _time = time;
        _lookups = meter?.CreateCounter<long>(
            "gatehouse.decision_cache.shared",
            "{operation}",
            "ext_authz shared decision cache (state backend) operations by result: hit, miss, unavailable, stored.");
    }

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Unavailable => Interlocked.Read(ref _unavailable);

    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>The shared key of <paramref name="key"/> under <paramref name="snapshot"/>'s config.</summary>
    public string KeyOf(GatehouseSnapshot snapshot, in DecisionCacheKey key)
    {
        var fingerprint = _fingerprints.GetValue(snapshot, static s => ConfigFingerprint(s.Config));
        var size = fingerprint.Length + 16 + Length(key.Workload) + Length(key.Method) + Length(key.Host) + Length(key.Path);
        var rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var buffer = rented.AsSpan(0, size);
            fingerprint.CopyTo(buffer);
            var offset = fingerprint.Length;
            BinaryPrimitives.WriteUInt128LittleEndian(buffer[offset..], key.Material);
            offset += 16;
            Append(buffer, ref offset, key.Workload);
            Append(buffer, ref offset, key.Method);
            Append(buffer, ref offset, key.Host);
            Append(buffer, ref offset, key.Path);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(buffer, hash);
            return "authz:" + Base64Url.EncodeToString(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Looks <paramref name="key"/> up. Never throws for backend trouble: that is <see cref="SharedLookup.Unavailable"/>.</summary>
    public async ValueTask<(SharedLookup Result, Decision? Decision)> GetAsync(string key, CancellationToken cancellationToken)
    {
        // Note: while the client library knows the connection is down, do not even try: the engine decides at once.
        if (!_state.IsHealthy)
        {
            return (Count(SharedLookup.Unavailable), null);
        }

        StateValue stored;
        try
        {
            stored = await _state.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            stored = StateValue.Down;
        }

        if (stored.Unavailable)
        {
            return (Count(SharedLookup.Unavailable), null);
        }

        var decision = stored.Found ? DecisionCodec.TryDecode(stored.Value) : null;
        // The backend's TTL already bounds the entry; the validity check covers clock differences between replicas.
        if (decision is null || decision.ValidUntil is not { } validUntil || validUntil <= _time.GetUtcNow())
        {
            return (Count(SharedLookup.Miss), null);
        }

        return (Count(SharedLookup.Hit), decision);
    }

    /// <summary>
    /// Stores <paramref name="decision"/> for min(<paramref name="ttl"/>, its validity) unless it must not be
    /// cached (its validity cut to the entry's expiry). Returns whether the backend took it.
    /// </summary>
    public async ValueTask<bool> SetAsync(string key, Decision decision, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decision);
        if (!DecisionCache.IsCacheable(decision) || !_state.IsHealthy)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        var expires = now + ttl;
        if (decision.ValidUntil is { } validUntil && validUntil < expires)
        {
            expires = validUntil;
        }

        if (expires - now < TimeSpan.FromMilliseconds(1))
        {
            return false;
        }

        var bytes = DecisionCodec.Encode(decision, expires);
        bool stored;
        try
        {
            stored = await _state.SetAsync(key, bytes, expires - now, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            stored = false;
        }

        if (stored)
        {
            Interlocked.Increment(ref _stored);
            _lookups?.Add(1, new KeyValuePair<string, object?>("result", "stored"));
        }

        return stored;
    }

    private SharedLookup Count(SharedLookup result)
    {
        switch (result)
        {
            case SharedLookup.Hit:
                Interlocked.Increment(ref _hits);
                break;
            case SharedLookup.Miss:
                Interlocked.Increment(ref _misses);
                break;
            default:
                Interlocked.Increment(ref _unavailable);
                break;
        }

        _lookups?.Add(1, new KeyValuePair<string, object?>("result", result switch
        {
            SharedLookup.Hit => "hit",
            SharedLookup.Miss => "miss",
            _ => "unavailable",
        }));
        return result;
    }

    /// <summary>SHA-256 over the effective config's decision-relevant sections (name and JSON of each).</summary>
    internal static byte[] ConfigFingerprint(GatehouseConfig config)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            EffectiveConfigWriter.WriteJson(config, writer);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var section in document.RootElement.EnumerateObject())
        {
            if (s_notDecisionInputs.Contains(section.Name))
            {
                continue;
            }

            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(section.Name + "\n"));
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(section.Value.GetRawText() + "\n"));
        }

        return hash.GetHashAndReset();
    }

    private static int Length(string? value) => 4 + ((value?.Length ?? 0) * sizeof(char));

    private static void Append(Span<byte> buffer, ref int offset, string? value)
    {
        // -1 marks "absent", so an absent workload differs from an empty one.
        BinaryPrimitives.WriteInt32LittleEndian(buffer[offset..], value?.Length ?? -1);
        offset += 4;
        if (value is not null)
        {
            var bytes = MemoryMarshal.AsBytes(value.AsSpan());
            bytes.CopyTo(buffer[offset..]);
            offset += bytes.Length;
        }
    }
}
