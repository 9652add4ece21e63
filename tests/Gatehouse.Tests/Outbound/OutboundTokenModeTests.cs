using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gatehouse.Tests.Conformance;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.Outbound;

/// <summary>
/// An outbound sidecar (real Gatehouse, outbound listener) in front of a real upstream, getting its tokens from a
/// real token endpoint (oidc-provider with an RFC 8693 grant, tests/conformance/sts-server.mjs): every
/// <c>outbound.token</c> mode and client authentication method.
/// </summary>
public sealed class OutboundTokenModeFixture : IAsyncLifetime
{
    public const string PaymentsResource = "https://payments.example/";
    public StsServer Sts { get; private set; } = null!;
    public EchoUpstream Upstream { get; private set; } = null!;
    public RunningGatehouse Sidecar { get; private set; } = null!;
    public string Directory { get; } = Gatehouse.Testing.TestTemp.CreateDirectory("outbound-modes-");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyFile = Path.Combine(Directory, "orders-jwt.key");
        await File.WriteAllTextAsync(keyFile, ec.ExportPkcs8PrivateKeyPem());
        var publicJwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ec.ExportParameters(false))));
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = publicJwk.X, ["y"] = publicJwk.Y, ["kid"] = "k1", ["use"] = "sig", ["alg"] = "ES256" }),
        };
        await File.WriteAllTextAsync(Path.Combine(Directory, "basic.secret"), "basic-secret\n");
        await File.WriteAllTextAsync(Path.Combine(Directory, "post.secret"), "post-secret");

        Sts = await StsServer.StartAsync(new StsOptions
        {
            Resources = new Dictionary<string, (string, string)> { [PaymentsResource] = ("payments", "payments.charge payments.read") },
            Clients =
            [
                new("orders-basic", "client_secret_basic") { Secret = "basic-secret", Scope = "payments.charge payments.read", ExchangeAudiences = ["payments"] },
                new("orders-post", "client_secret_post") { Secret = "post-secret", Scope = "payments.charge payments.read" },
                new("orders-jwt", "private_key_jwt") { Jwks = jwks, Scope = "payments.charge payments.read" },
            ],
        });
        Upstream = await EchoUpstream.StartAsync();
        var echo = Upstream.Address.ToString().TrimEnd('/');
        Sidecar = await RunningGatehouse.StartAsync(Directory, "sidecar", $$"""
            version: 1
            issuers:
              sts: { issuer: "{{Sts.Issuer}}", discovery: true, audiences: [orders], algorithms: [RS256] }
            listeners:
              - { name: out, mode: outbound, address: "127.0.0.1:0", include_error_details: true }
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
            routes:
              - name: forward
                match: { hosts: [forward.test] }
                upstream: {{echo}}
                authentication: { require_token: false }
                outbound: { token: { mode: forward } }
              - name: none
                match: { hosts: [none.test] }
                upstream: {{echo}}
                authentication: { require_token: false }
                outbound: { token: { mode: none } }
              - name: cc-basic
                match: { hosts: [cc-basic.test] }
                upstream: {{echo}}
                authentication: { require_token: false }
                outbound:
                  token: { mode: client_credentials, issuer: sts, client_id: orders-basic, client_secret_file: basic.secret, resource: "{{PaymentsResource}}", scopes: [payments.charge] }
              - name: cc-post
                match: { hosts: [cc-post.test] }
                upstream: {{echo}}
                authentication: { require_token: false }
                outbound:
                  token: { mode: client_credentials, token_endpoint: "{{Sts.TokenEndpoint}}", client_id: orders-post, client_auth: client_secret_post, client_secret_file: post.secret, resource: "{{PaymentsResource}}", scopes: [payments.charge] }
              - name: cc-jwt
                match: { hosts: [cc-jwt.test] }
                upstream: {{echo}}
                authentication: { require_token: false }
                outbound:
                  token: { mode: client_credentials, issuer: sts, client_id: orders-jwt, client_auth: private_key_jwt, client_key_file: orders-jwt.key, client_key_id: k1, resource: "{{PaymentsResource}}", scopes: [payments.charge] }
              - name: exchange
                match: { hosts: [exchange.test] }
                upstream: {{echo}}
                authentication: { issuers: [sts], require_token: true }
                outbound:
                  token: { mode: exchange, issuer: sts, client_id: orders-basic, client_secret_file: basic.secret, audience: payments, scopes: [payments.charge], actor: client_credentials }
              - name: exchange-unvalidated
                match: { hosts: [exchange-unvalidated.test] }
                upstream: {{echo}}
                authentication: { require_token: false }
                outbound:
                  token: { mode: exchange, issuer: sts, client_id: orders-basic, client_secret_file: basic.secret, audience: payments }
              - name: exchange-refused
                match: { hosts: [ledger.test] }
                upstream: {{echo}}
                authentication: { issuers: [sts], require_token: true }
                outbound:
                  token: { mode: exchange, issuer: sts, client_id: orders-basic, client_secret_file: basic.secret, audience: ledger }
            """);
    }

    public async Task DisposeAsync()
    {
        await Sidecar.DisposeAsync();
        await Upstream.DisposeAsync();
        await Sts.DisposeAsync();
    }
}

public sealed class OutboundTokenModeTests(OutboundTokenModeFixture fx) : IClassFixture<OutboundTokenModeFixture>
{
    private string UserToken(string subject = "alice") => fx.Sts.MintUserToken(subject, "orders", "orders.read", TimeSpan.FromMinutes(10));

    private async Task<(HttpResponseMessage Response, ReceivedRequest? Received)> SendAsync(string host, string? token)
    {
        var path = "/pay/" + Guid.NewGuid().ToString("N");
        var response = await fx.Sidecar.SendAsync("out", host, path, token);
        var received = fx.Upstream.Received.SingleOrDefault(r => r.PathAndQuery == path);
        return (response, received);
    }

    private async Task<string> Describe(HttpResponseMessage response) =>
        $"HTTP {(int)response.StatusCode} {string.Join(",", response.Headers.Select(h => h.Key + "=" + string.Join(" ", h.Value)))}\n{await response.Content.ReadAsStringAsync()}\n--- sidecar log ---\n{fx.Sidecar.Log}\n--- STS log ---\n{fx.Sts.Log}";

    [Fact]
    public async Task Forward_SendsTheAppsTokenUnchanged()
    {
        var token = UserToken();
        var (response, received) = await SendAsync("forward.test", token);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        Assert.Equal("Bearer " + token, received!.Header("authorization"));
    }

    [Fact]
    public async Task None_StripsTheAppsToken()
    {
        var (response, received) = await SendAsync("none.test", UserToken());

        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        Assert.Null(received!.Header("authorization"));
    }

    [Theory]
    [InlineData("cc-basic.test", "orders-basic")]
    [InlineData("cc-post.test", "orders-post")]
    [InlineData("cc-jwt.test", "orders-jwt")]
    public async Task ClientCredentials_AttachesTheWorkloadsOwnToken_AndReusesIt(string host, string clientId)
    {
        var (first, received1) = await SendAsync(host, null);
        var (second, received2) = await SendAsync(host, null);

        Assert.True(first.StatusCode == HttpStatusCode.OK, await Describe(first));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var claims = RunningGatehouse.Payload(received1!.Header("authorization"));
        Assert.Equal(fx.Sts.Issuer, claims.GetProperty("iss").GetString());
        Assert.Equal(clientId, claims.GetProperty("client_id").GetString());
        Assert.Equal("payments", claims.GetProperty("aud").GetString());
        Assert.Equal("payments.charge", claims.GetProperty("scope").GetString());
        // Cached until exp − refresh_before: the same token, no second call.
        Assert.Equal(received1.Header("authorization"), received2!.Header("authorization"));
    }

    [Fact]
    public async Task Exchange_AttachesATokenNarrowedToTheHop_NamingTheWorkloadAsActor()
    {
        var user = UserToken("alice");
        var (response, received) = await SendAsync("exchange.test", user);
        var (again, receivedAgain) = await SendAsync("exchange.test", user);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        Assert.NotEqual("Bearer " + user, received!.Header("authorization"));
        var claims = RunningGatehouse.Payload(received.Header("authorization"));
        Assert.Equal("alice", claims.GetProperty("sub").GetString());
        Assert.Equal("payments", claims.GetProperty("aud").GetString());
        Assert.Equal("payments.charge", claims.GetProperty("scope").GetString());
        Assert.Equal("orders-basic", claims.GetProperty("act").GetProperty("sub").GetString());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(received.Header("authorization"), receivedAgain!.Header("authorization")); // exchange cache
        var log = fx.Sidecar.Log;
        Assert.DoesNotContain(user, log, StringComparison.Ordinal);
        Assert.DoesNotContain(received.Header("authorization")!["Bearer ".Length..], log, StringComparison.Ordinal);
        Assert.DoesNotContain("basic-secret", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exchange_WithoutAnAppToken_Is401_AndNothingIsSentUpstream()
    {
        var (response, received) = await SendAsync("exchange-unvalidated.test", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("token.missing", response.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Null(received);
    }

    [Fact]
    public async Task Exchange_RefusedByTheSts_Is403WithItsError_AndNothingIsSentUpstream()
    {
        var (response, received) = await SendAsync("ledger.test", UserToken());

        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, await Describe(response));
        Assert.Equal("outbound.exchange_refused:invalid_target", response.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Null(received);
        var audit = await fx.Sidecar.AuditAsync();
        Assert.Contains(audit, r => r.GetProperty("route").GetString() == "exchange-refused"
            && r.GetProperty("decision").GetString() == "deny"
            && r.GetRawText().Contains("outbound.exchange_refused:invalid_target", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Exchange_OfATokenTheStsDoesNotTrust_Is401InvalidGrant()
    {
        // Signed by a key the STS does not know: passed on unvalidated (the route names no issuers), refused by the STS.
        using var rsa = RSA.Create(2048);
        var foreign = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = fx.Sts.Issuer,
            Audience = "orders",
            Claims = new Dictionary<string, object> { ["sub"] = "mallory" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "rs-1" }, SecurityAlgorithms.RsaSha256),
        });

        var (response, received) = await SendAsync("exchange-unvalidated.test", foreign);

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, await Describe(response));
        Assert.Equal("outbound.exchange_refused:invalid_grant", response.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Null(received);
    }

    [Fact]
    public async Task TokenEndpointCalls_AreCountedInMetrics()
    {
        await SendAsync("cc-basic.test", null);
        await SendAsync("ledger.test", UserToken());

        using var client = new HttpClient();
        var metrics = await client.GetStringAsync(new Uri(fx.Sidecar.Server.GetListenerUri("admin"), "/metrics"));

        Assert.Contains("gatehouse_outbound_token_requests", metrics, StringComparison.Ordinal);
        Assert.Contains("result=\"refused\"", metrics, StringComparison.Ordinal);
        Assert.Contains("gatehouse_outbound_token_cache", metrics, StringComparison.Ordinal);
    }
}
