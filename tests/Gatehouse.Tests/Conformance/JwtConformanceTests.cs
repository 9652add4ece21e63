using System.Net;

namespace Gatehouse.Tests.Conformance;

/// <summary>
/// JWT access tokens issued by the real oidc-provider (client_credentials + RFC 8707 resource indicators), sent
/// through a real Gatehouse to a real upstream (issue 2 item 9, issue 3 conformance).
/// </summary>
[Collection(ConformanceCollection.Name)]
public sealed class JwtConformanceTests(OidcProviderFixture idp)
{
    [Fact]
    public async Task Rs256_token_is_accepted_and_reaches_the_upstream_without_Authorization()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var token = await idp.GetTokenAsync(OidcProviderFixture.ApiResource, "read write");

        using var response = await gateway.GetAsync("/api/orders/42?x=1", token);

        await ConformanceAssert.StatusAsync(gateway, response, HttpStatusCode.OK, "an RS256 token of the configured issuer and audience with scope read");
        Assert.Equal("upstream ok", await response.Content.ReadAsStringAsync());
        var seen = Assert.Single(gateway.Upstream.Received);
        Assert.Equal("GET", seen.Method);
        Assert.Equal("/api/orders/42?x=1", seen.PathAndQuery);
        Assert.Null(seen.Header("Authorization")); // forward_authorization defaults to false
    }

    [Fact]
    public async Task Es256_token_is_accepted()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var token = await idp.GetTokenAsync(OidcProviderFixture.ApiEsResource, "read");

        using var response = await gateway.GetAsync("/api/es", token);

        await ConformanceAssert.StatusAsync(gateway, response, HttpStatusCode.OK, "an ES256 token of the configured issuer and audience with scope read");
        Assert.Equal("/api/es", Assert.Single(gateway.Upstream.Received).PathAndQuery);
    }

    [Fact]
    public async Task Token_for_another_resource_is_rejected_as_invalid_token()
    {
        // Only the RS resource is an accepted audience; the same provider's token for the ES resource is not ours.
        await using var gateway = await ConformanceGateway.StartAsync(idp, new GatewaySettings { Audiences = [OidcProviderFixture.ApiResource] });
        var ours = await idp.GetTokenAsync(OidcProviderFixture.ApiResource, "read");
        var theirs = await idp.GetTokenAsync(OidcProviderFixture.ApiEsResource, "read");

        using var accepted = await gateway.GetAsync("/api/x", ours);
        using var rejected = await gateway.GetAsync("/api/x", theirs);

        await ConformanceAssert.StatusAsync(gateway, accepted, HttpStatusCode.OK, "control: the token for the configured audience");
        await ConformanceAssert.RejectedAsInvalidTokenAsync(gateway, rejected, "a token whose aud is another resource");
        Assert.Single(gateway.Upstream.Received);
    }

    [Fact]
    public async Task Token_without_the_required_scope_is_forbidden_with_insufficient_scope()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var token = await idp.GetTokenAsync(OidcProviderFixture.ApiResource, "write");

        using var response = await gateway.GetAsync("/api/x", token);

        await ConformanceAssert.StatusAsync(gateway, response, HttpStatusCode.Forbidden, "required_scopes: [read] with a write-only token");
        ConformanceAssert.BearerChallenge(response, "insufficient_scope");
        Assert.Empty(gateway.Upstream.Received);
    }

    [Fact]
    public async Task Policy_requiring_read_refuses_a_write_only_token_and_admits_a_read_token()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);
        var writeOnly = await idp.GetTokenAsync(OidcProviderFixture.ApiEsResource, "write");
        var read = await idp.GetTokenAsync(OidcProviderFixture.ApiEsResource, "read");

        using var refused = await gateway.GetAsync("/policy/x", writeOnly);
        using var admitted = await gateway.GetAsync("/policy/x", read);

        await ConformanceAssert.StatusAsync(gateway, refused, HttpStatusCode.Forbidden, "allow policy `when: { scopes: [read] }` with a write-only token");
        ConformanceAssert.BearerChallenge(refused, "insufficient_scope");
        await ConformanceAssert.StatusAsync(gateway, admitted, HttpStatusCode.OK, "allow policy `when: { scopes: [read] }` with a read token");
        Assert.Equal("/policy/x", Assert.Single(gateway.Upstream.Received).PathAndQuery);
    }

    [Fact]
    public async Task Missing_token_is_challenged_without_an_error_code()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp);

        using var response = await gateway.GetAsync("/api/x", token: null);

        await ConformanceAssert.StatusAsync(gateway, response, HttpStatusCode.Unauthorized, "no Authorization header on a require_token route");
        Assert.True(response.Headers.TryGetValues("WWW-Authenticate", out var values));
        var challenge = string.Join(", ", values);
        Assert.StartsWith("Bearer", challenge, StringComparison.Ordinal);
        Assert.DoesNotContain("error=", challenge, StringComparison.Ordinal); // RFC 6750 §3.1
        Assert.Empty(gateway.Upstream.Received);
    }

    [Fact]
    public async Task Readyz_turns_200_once_the_providers_keys_are_loaded()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp, waitUntilReady: false);
        using var admin = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = gateway.AdminAddress, Timeout = TimeSpan.FromSeconds(10) };

        // Poll (bounded): before the JWKS arrives /readyz may say 503, never anything else; then 200 for good.
        var seen = new List<HttpStatusCode>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await admin.GetAsync("/readyz");
            seen.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                break;
            }
            await Task.Delay(50);
        }

        Assert.True(seen.Count > 0 && seen[^1] == HttpStatusCode.OK, $"/readyz never answered 200 within 30 s: {string.Join(", ", seen.Select(s => (int)s))}\n{gateway.Log}");
        Assert.All(seen.Take(seen.Count - 1), s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
        var token = await idp.GetTokenAsync(OidcProviderFixture.ApiResource, "read");
        using var proxied = await gateway.GetAsync("/api/ready", token);
        await ConformanceAssert.StatusAsync(gateway, proxied, HttpStatusCode.OK, "a ready gateway serves a valid token");
        using var again = await admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }
}
