using Gatehouse.Configuration;
using Gatehouse.State;
using Gatehouse.Tokens.Dpop;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Tokens.Dpop;

/// <summary>
/// Server nonces (RFC 9449 §8) from both sources: local (HMAC of a per-process key: another process refuses them)
/// and shared (one random nonce per listener and period in the state backend: every replica agrees), with rotation
/// on a manual clock and fail-closed when the shared backend cannot answer.
/// </summary>
public sealed class DpopNoncesTests
{
    private static readonly TimeSpan s_rotation = TimeSpan.FromMinutes(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly DpopSettings _edge = DpopSettings.Create("edge", new DpopConfig { Nonce = true, NonceRotation = s_rotation });
    private readonly DpopSettings _other = DpopSettings.Create("other", new DpopConfig { Nonce = true, NonceRotation = s_rotation });

    [Fact]
    public async Task Shared_ReplicasOnOneStore_AcceptEachOthersNonces()
    {
        var store = new MemoryStateStore(_time, 1000);
        var first = DpopNonces.Shared(store);
        var second = DpopNonces.Shared(store);

        var issued = await first.CurrentAsync(_edge, _time.GetUtcNow(), default);
        var check = await second.CheckAsync(issued, _edge, _time.GetUtcNow(), default);

        Assert.NotNull(issued);
        Assert.Matches("^[A-Za-z0-9_-]{22}$", issued);
        Assert.True(check.Valid);
        Assert.Equal(issued, check.Current);
        Assert.Equal(issued, await second.CurrentAsync(_edge, _time.GetUtcNow(), default));
    }

    [Fact]
    public async Task Shared_Rotates_PreviousStillGood_OlderRefused_ListenersApart()
    {
        var store = new MemoryStateStore(_time, 1000);
        var first = DpopNonces.Shared(store);
        var second = DpopNonces.Shared(store);
        var issued = await first.CurrentAsync(_edge, _time.GetUtcNow(), default);

        _time.Advance(s_rotation);
        var next = await second.CheckAsync(issued, _edge, _time.GetUtcNow(), default);
        Assert.True(next.Valid);
        Assert.NotEqual(issued, next.Current);
        Assert.Equal(next.Current, await first.CurrentAsync(_edge, _time.GetUtcNow(), default));
        Assert.False((await second.CheckAsync(issued, _other, _time.GetUtcNow(), default)).Valid);

        _time.Advance(s_rotation);
        Assert.False((await first.CheckAsync(issued, _edge, _time.GetUtcNow(), default)).Valid);
        Assert.False((await second.CheckAsync(issued, _edge, _time.GetUtcNow(), default)).Valid);
    }

    [Fact]
    public async Task Shared_PreviousPeriodThatNoReplicaIssued_IsNeverInvented()
    {
        var store = new MemoryStateStore(_time, 1000);
        var nonces = DpopNonces.Shared(store);

        var check = await nonces.CheckAsync("AAAAAAAAAAAAAAAAAAAAAA", _edge, _time.GetUtcNow(), default);

        Assert.False(check.Valid);
        Assert.NotNull(check.Current);
    }

    [Fact]
    public async Task Shared_StoreCannotAnswer_NoNonce()
    {
        // A memory store full of live replay keys cannot take the nonce: the injected fault of an unavailable backend.
        var full = new MemoryStateStore(_time, 1);
        Assert.Equal(StateAddResult.Added, await full.TryAddAsync("dpop:x", TimeSpan.FromMinutes(5), default));
        var nonces = DpopNonces.Shared(full);

        Assert.Null(await nonces.CurrentAsync(_edge, _time.GetUtcNow(), default));
        Assert.Null((await nonces.CheckAsync("anything", _edge, _time.GetUtcNow(), default)).Current);
    }

    [Fact]
    public async Task Local_NoncesOfAnotherProcess_AreRefused()
    {
        var mine = DpopNonces.Local(new byte[32]);
        var theirs = DpopNonces.Local(Enumerable.Repeat((byte)7, 32).ToArray());
        var issued = await mine.CurrentAsync(_edge, _time.GetUtcNow(), default);

        Assert.True((await mine.CheckAsync(issued, _edge, _time.GetUtcNow(), default)).Valid);
        Assert.False((await theirs.CheckAsync(issued, _edge, _time.GetUtcNow(), default)).Valid);
        Assert.Equal("local", mine.Kind);
        Assert.Equal("shared", DpopNonces.Shared(new MemoryStateStore(_time, 1000)).Kind);
    }

    [Fact]
    public async Task MemoryStore_GetOrAdd_FirstValueWins_UntilItExpires()
    {
        var store = new MemoryStateStore(_time, 1000);

        var a = await store.GetOrAddAsync("k", [1], TimeSpan.FromSeconds(10), default);
        var b = await store.GetOrAddAsync("k", [2], TimeSpan.FromSeconds(10), default);
        _time.Advance(TimeSpan.FromSeconds(11));
        var c = await store.GetOrAddAsync("k", [3], TimeSpan.FromSeconds(10), default);

        Assert.Equal([1], a.Value);
        Assert.Equal([1], b.Value);
        Assert.Equal([3], c.Value);
    }
}
