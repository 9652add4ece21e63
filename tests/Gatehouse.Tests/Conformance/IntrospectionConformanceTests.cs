using System.Net;

namespace Gatehouse.Tests.Conformance;

/// <summary>
/// Opaque access tokens of the real oidc-provider (resource <c>https://api-opaque.example.test</c>), validated by
/// Gatehouse through RFC 7662 introspection as <c>rs-introspector</c> (client_secret_basic), issue 3 item 3.
/// </summary>
[Collection(ConformanceCollection.Name)]
public sealed class IntrospectionConformanceTests(OidcProviderFixture idp)
{
    [Fact]
    public async Task Opaque_token_is_accepted_through_introspection()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var token = await idp.GetTokenAsync(OidcProviderFixture.OpaqueResource, "read");
        Assert.DoesNotContain('.', token); // the provider issued an opaque token, not a JWT

        using var response = await gateway.GetAsync("/api/opaque", token);

        await ConformanceAssert.StatusAsync(gateway, response, HttpStatusCode.OK, "an active opaque token with scope read");
        var seen = Assert.Single(gateway.Upstream.Received);
        Assert.Equal("/api/opaque", seen.PathAndQuery);
        Assert.Null(seen.Header("Authorization"));
    }

    [Fact]
    public async Task Opaque_token_is_accepted_when_introspecting_with_client_secret_post()
    {
        // tests/conformance/oidc-server.mjs enforces the registered method on the introspection endpoint:
        // rs-introspector-post must send client_id/client_secret in the body; a Basic header gets 401 invalid_client
        // (and rs-introspector, used by every other test, must use Basic).
        await using var gateway = await ConformanceGateway.StartAsync(idp, new GatewaySettings { IntrospectionAuthMethod = "client_secret_post" });
        var active = await idp.GetTokenAsync(OidcProviderFixture.OpaqueResource, "read");
        var unknown = "n0t-a-token-this-provider-issued_" + Guid.NewGuid().ToString("N");

        using var accepted = await gateway.GetAsync("/api/opaque-post", active);
        using var rejected = await gateway.GetAsync("/api/opaque-post", unknown);

        await ConformanceAssert.StatusAsync(gateway, accepted, HttpStatusCode.OK, "an active opaque token, introspected with client_secret_post");
        await ConformanceAssert.RejectedAsInvalidTokenAsync(gateway, rejected, "an unknown opaque token, introspected with client_secret_post");
        Assert.Equal("/api/opaque-post", Assert.Single(gateway.Upstream.Received).PathAndQuery);
    }

    [Fact]
    public async Task Opaque_token_without_the_required_scope_is_forbidden()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var token = await idp.GetTokenAsync(OidcProviderFixture.OpaqueResource, "write");

        using var response = await gateway.GetAsync("/api/opaque", token);

        await ConformanceAssert.StatusAsync(gateway, response, HttpStatusCode.Forbidden, "an active opaque token with scope write only");
        ConformanceAssert.BearerChallenge(response, "insufficient_scope");
        Assert.Empty(gateway.Upstream.Received);
    }

    [Fact]
    public async Task Unknown_opaque_token_is_rejected_as_invalid_token()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);

        // The provider answers {"active": false} for a token it never issued.
        using var response = await gateway.GetAsync("/api/opaque", "n0t-a-token-this-provider-issued_" + Guid.NewGuid().ToString("N"));

        await ConformanceAssert.RejectedAsInvalidTokenAsync(gateway, response, "an opaque token the provider introspects as inactive");
        Assert.Empty(gateway.Upstream.Received);
    }

    [Fact]
    public async Task Revoked_opaque_token_is_refused_once_the_cache_ttl_has_passed()
    {
        // cache_ttl 1s: Apache mod_auth_openidc serves a revoked token until exp (peers README §7.5); Gatehouse must not.
        await using var gateway = await ConformanceGateway.StartAsync(idp, new GatewaySettings { IntrospectionCacheTtl = "1s" });
        var token = await idp.GetTokenAsync(OidcProviderFixture.OpaqueResource, "read");

        using (var before = await gateway.GetAsync("/api/revoke", token))
        {
            await ConformanceAssert.StatusAsync(gateway, before, HttpStatusCode.OK, "the opaque token before revocation");
        }
        await idp.RevokeAsync(token);
        using (var view = await idp.IntrospectAsync(token))
        {
            Assert.False(view.RootElement.GetProperty("active").GetBoolean(), "the provider itself must see the token as revoked");
        }

        // Bounded wait: cache_ttl is 1 s; 15 s is generous for a loaded CI box and still far below the token's exp (1 h).
        var statuses = new List<int>();
        HttpResponseMessage? last = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                last?.Dispose();
                last = await gateway.GetAsync("/api/revoke", token);
                statuses.Add((int)last.StatusCode);
                if (last.StatusCode != HttpStatusCode.OK)
                {
                    break;
                }
                await Task.Delay(100);
            }
            Assert.NotNull(last);
            await ConformanceAssert.RejectedAsInvalidTokenAsync(gateway, last, $"a revoked opaque token after cache_ttl (statuses seen: {string.Join(",", statuses)})");
        }
        finally
        {
            last?.Dispose();
        }
    }
}
