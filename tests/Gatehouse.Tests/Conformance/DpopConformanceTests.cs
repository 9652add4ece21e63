using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Gatehouse.Tests.Conformance;

/// <summary>
/// RFC 9449 DPoP end to end with independent implementations: the real oidc-provider issues a DPoP-bound token
/// (cnf.jkt) to a client built on the npm <c>jose</c> package (tests/conformance/dpop-client.mjs), whose proofs go
/// through a real Gatehouse to a real upstream — the valid proof, its replay, the bearer downgrade, and every negative
/// case of RFC 9449 §4.3.
/// </summary>
[Collection(ConformanceCollection.Name)]
public sealed class DpopConformanceTests(OidcProviderFixture idp)
{
    [Fact]
    public async Task Jose_client_with_a_dpop_bound_token_from_oidc_provider()
    {
        await using var gateway = await ConformanceGateway.StartAsync(idp, new GatewaySettings { IncludeErrorDetails = true });
        var url = new Uri(gateway.EdgeAddress, "/api/orders/1").ToString();
        var run = await NodeTooling.RunAsync(
            "node", ["dpop-client.mjs", idp.Issuer, OidcProviderFixture.ApiResource, "read", url],
            NodeTooling.ToolingDirectory, TimeSpan.FromSeconds(60), CancellationToken.None, NodeTooling.MissingNodeMessage);
        Assert.True(run.ExitCode == 0, "dpop-client.mjs failed: " + run.Output);
        using var json = JsonDocument.Parse(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0]);
        var root = json.RootElement;
        var token = root.GetProperty("token").GetString()!;
        string Proof(string name) => root.GetProperty("proofs").GetProperty(name).GetString()!;

        // The authorization server bound the token to the client's key (RFC 9449 §5, §6.1).
        Assert.Equal("DPoP", root.GetProperty("token_type").GetString());
        Assert.Equal(3, token.Split('.').Length);

        // No downgrade: the bound token as a bearer token is refused, with or without a proof.
        await ExpectAsync(gateway, "Bearer", token, null, HttpStatusCode.Unauthorized, "dpop.proof_missing:bearer_scheme");
        await ExpectAsync(gateway, "DPoP", token, null, HttpStatusCode.Unauthorized, "dpop.proof_missing");

        // The jose proof is accepted once; its replay is refused.
        await ExpectAsync(gateway, "DPoP", token, Proof("valid"), HttpStatusCode.OK, null);
        await ExpectAsync(gateway, "DPoP", token, Proof("valid"), HttpStatusCode.Unauthorized, "dpop.replayed");
        await ExpectAsync(gateway, "DPoP", token, Proof("valid_again"), HttpStatusCode.OK, null);
        Assert.All(gateway.Upstream.Received, seen =>
        {
            Assert.Null(seen.Header("Authorization"));
            Assert.Null(seen.Header("DPoP"));
        });

        // Every negative case of RFC 9449 §4.3.
        foreach (var (name, reason) in new[]
        {
            ("wrong_htm", "dpop.proof_invalid:htm"),
            ("wrong_htu", "dpop.proof_invalid:htu"),
            ("wrong_origin", "dpop.proof_invalid:htu"),
            ("stale_iat", "dpop.proof_invalid:iat"),
            ("missing_ath", "dpop.proof_invalid:ath"),
            ("wrong_ath", "dpop.proof_invalid:ath"),
            ("private_jwk", "dpop.proof_invalid:jwk_private"),
            ("symmetric_alg", "dpop.proof_invalid:alg"),
            ("bad_typ", "dpop.proof_invalid:typ"),
            ("thumbprint_mismatch", "dpop.binding_mismatch"),
            ("bad_signature", "dpop.proof_invalid:signature"),
        })
        {
            await ExpectAsync(gateway, "DPoP", token, Proof(name), HttpStatusCode.Unauthorized, reason);
        }

        Assert.Equal(2, gateway.Upstream.Received.Count);
    }

    private static async Task ExpectAsync(ConformanceGateway gateway, string scheme, string token, string? proof, HttpStatusCode status, string? reason)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/orders/1");
        request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
        if (proof is not null)
        {
            request.Headers.TryAddWithoutValidation("DPoP", proof);
        }

        using var response = await gateway.Client.SendAsync(request);
        var what = $"{scheme} token, proof {(proof is null ? "none" : proof[..Math.Min(20, proof.Length)] + "…")}";
        await ConformanceAssert.StatusAsync(gateway, response, status, what);
        if (reason is not null)
        {
            Assert.Equal(reason, response.Headers.GetValues("x-gatehouse-reason").Single());
            Assert.StartsWith("DPoP ", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }
}
