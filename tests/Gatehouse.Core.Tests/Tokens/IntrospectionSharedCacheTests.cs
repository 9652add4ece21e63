using System.Text.Json.Nodes;
using Gatehouse.Model;
using Gatehouse.Configuration;
using Gatehouse.State;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// Introspection answers shared through a state store (what <c>state.backend: redis</c> does across replicas): two
/// issuer runtimes, as two replicas would have, one loopback authorization server.
/// </summary>
public sealed class IntrospectionSharedCacheTests : IAsyncLifetime
{
    private readonly FakeIdp _idp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    private readonly HttpClient _http = new();
    private readonly List<IssuerRuntime> _issuers = [];

    public Task InitializeAsync()
    {
        _idp.Introspect = token => token.StartsWith("good", StringComparison.Ordinal)
            ? new JsonObject { ["active"] = true, ["iss"] = _idp.Issuer, ["sub"] = "svc", ["aud"] = "orders", ["exp"] = _time.GetUtcNow().AddHours(1).ToUnixTimeSeconds(), ["scope"] = "orders.read" }
            : new JsonObject { ["active"] = false };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var issuer in _issuers)
        {
            await issuer.DisposeAsync();
        }

        _http.Dispose();
        await _idp.DisposeAsync();
    }

    private IssuerRuntime Replica(IStateStore shared)
    {
        var issuer = new IssuerRuntime(
            new IssuerConfig
            {
                Name = "as",
                Issuer = _idp.Issuer,
                Audiences = ["orders"],
                Introspection = new IntrospectionConfig { Endpoint = _idp.IntrospectionUri, ClientId = "c", CacheTtl = TimeSpan.FromSeconds(60) },
            },
            _http, _time, NullLoggerFactory.Instance, shared);
        _issuers.Add(issuer);
        return issuer;
    }

    [Fact]
    public async Task SecondReplica_UsesTheFirstReplicasAnswer_UntilItWouldHaveExpired()
    {
        var shared = new MemoryStateStore(_time, 1000);
        var first = Replica(shared);
        var second = Replica(shared);
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);

        Assert.True((await auth.AuthenticateAsync("good-1", [first], default)).Succeeded);
        var fromShared = await auth.AuthenticateAsync("good-1", [second], default);

        Assert.True(fromShared.Succeeded);
        Assert.Equal("svc", fromShared.Token!.Claims.GetProperty("sub").GetString());
        Assert.Equal(1, _idp.Introspections);

        // Past the first answer's cache_ttl the shared entry is gone: the next lookup asks the server again.
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.True((await auth.AuthenticateAsync("good-1", [Replica(shared)], default)).Succeeded);
        Assert.Equal(2, _idp.Introspections);
    }

    [Fact]
    public async Task InactiveAnswers_AreShared_AndNeverAnAllow()
    {
        var shared = new MemoryStateStore(_time, 1000);
        var auth = new TokenAuthenticator(_time, NullLoggerFactory.Instance);

        Assert.False((await auth.AuthenticateAsync("revoked-1", [Replica(shared)], default)).Succeeded);
        var second = await auth.AuthenticateAsync("revoked-1", [Replica(shared)], default);

        Assert.False(second.Succeeded);
        Assert.Equal("token.inactive", second.Reason);
        Assert.Equal(1, _idp.Introspections);
    }
}
