using System.Net;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Gateway;

/// <summary>DPoP (RFC 9449) through a real gateway on Kestrel: proofs, replay, no downgrade, nonces, what the upstream sees.</summary>
public sealed class DpopGatewayTests
{
    private static string Bound(GatewayHarness h, DpopClientKey client) =>
        h.Keys.Mint(overrides: new Dictionary<string, object?> { ["cnf"] = new Dictionary<string, string> { ["jkt"] = client.Thumbprint } });

    private static Action<HttpRequestMessage> Dpop(string token, string? proof) => request =>
    {
        request.Headers.TryAddWithoutValidation("Authorization", "DPoP " + token);
        if (proof is not null)
        {
            request.Headers.TryAddWithoutValidation("DPoP", proof);
        }
    };

    [Fact]
    public async Task ValidProof_IsForwardedWithoutCredentials_AndItsReplayIsRefused()
    {
        await using var h = await GatewayHarness.StartAsync();
        using var client = new DpopClientKey();
        var token = Bound(h, client);
        var proof = client.Proof("GET", new Uri(h.Client.BaseAddress!, "/orders/1").ToString(), token);

        using var ok = await h.GetAsync("/orders/1", configure: Dpop(token, proof));
        using var replay = await h.GetAsync("/orders/1", configure: Dpop(token, proof));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var seen = Assert.Single(h.Upstream.Received);
        Assert.False(seen.Headers.ContainsKey("dpop"));
        Assert.False(seen.Headers.ContainsKey("authorization"));
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Equal("dpop.replayed", replay.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", replay.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InboundSidecarListener_ChecksProofsLikeTheGateway()
    {
        await using var h = await GatewayHarness.StartAsync((upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks)
            .Replace("{ name: edge, mode: gateway,", "{ name: edge, mode: inbound,", StringComparison.Ordinal));
        Assert.Contains("mode: inbound", await File.ReadAllTextAsync(h.ConfigPath), StringComparison.Ordinal);
        using var client = new DpopClientKey();
        var token = Bound(h, client);
        var proof = client.Proof("GET", new Uri(h.Client.BaseAddress!, "/orders/1").ToString(), token);

        using var ok = await h.GetAsync("/orders/1", configure: Dpop(token, proof));
        using var replay = await h.GetAsync("/orders/1", configure: Dpop(token, proof));
        using var bearer = await h.GetAsync("/orders/1", token);
        using var noProof = await h.GetAsync("/orders/1", configure: Dpop(token, proof: null));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("dpop.replayed", replay.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal("dpop.proof_missing:bearer_scheme", bearer.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal("dpop.proof_missing", noProof.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", noProof.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Single(h.Upstream.Received);
    }

    [Fact]
    public async Task BoundToken_AsBearer_IsRefused()
    {
        await using var h = await GatewayHarness.StartAsync();
        using var client = new DpopClientKey();

        using var response = await h.GetAsync("/orders/1", Bound(h, client));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("dpop.proof_missing:bearer_scheme", response.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Empty(h.Upstream.Received);
    }

    [Fact]
    public async Task NonceListener_HandsOutANonce_ThenAcceptsIt()
    {
        await using var h = await GatewayHarness.StartAsync((upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks)
            .Replace("include_error_details: true }", "include_error_details: true, dpop: { nonce: true } }", StringComparison.Ordinal));
        using var client = new DpopClientKey();
        var token = Bound(h, client);
        var url = new Uri(h.Client.BaseAddress!, "/orders/1").ToString();

        using var first = await h.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", url, token)));
        var nonce = first.Headers.GetValues("DPoP-Nonce").Single();
        using var second = await h.GetAsync("/orders/1", configure: Dpop(token, client.Proof("GET", url, token, nonce)));

        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.StartsWith("DPoP error=\"use_dpop_nonce\"", first.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }
}
