using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.DevCa;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Tests.Conformance;

namespace Gatehouse.Tests.Outbound;

/// <summary>
/// Two clusters on real parts. "east" and "west" each have their own development CA and SPIFFE trust domain and their
/// own authorization server (oidc-provider, tests/conformance/sts-server.mjs). West's STS accepts east-issued subject
/// tokens through its RFC 8693 grant and authenticates east's workload by its X.509-SVID (RFC 8705 tls_client_auth).
/// Gatehouse runs as east's outbound sidecar (exchange + mTLS with the east SVID) and as west's gateway (mTLS trusting
/// east's bundle, validating west tokens, policy on the actor), in front of a real payments upstream.
/// </summary>
public sealed class TwoClusterFixture : IAsyncLifetime
{
    public const string EastOrders = "spiffe://east.example/ns/shop/sa/orders";
    public const string WestGateway = "spiffe://west.example/ns/pay/sa/gateway";

    public string Directory { get; } = Gatehouse.Testing.TestTemp.CreateDirectory("two-cluster-");
    public StsServer EastIdp { get; private set; } = null!;
    public StsServer WestSts { get; private set; } = null!;
    public EchoUpstream Payments { get; private set; } = null!;
    public RunningGatehouse West { get; private set; } = null!;
    public RunningGatehouse East { get; private set; } = null!;
    public DevCertificatePaths EastOrdersSvid { get; private set; } = null!;
    public DevCertificatePaths EastCatalogSvid { get; private set; } = null!;
    public string WestCa { get; private set; } = "";

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var time = TimeProvider.System;
        using var eastCa = DevCertificateAuthority.Create("east.example", time);
        using var westCa = DevCertificateAuthority.Create("west.example", time);
        var eastCaPaths = WriteAuthority(eastCa, "east-ca");
        WestCa = WriteAuthority(westCa, "west-ca").Certificate;
        EastOrdersSvid = Issue(eastCa, EastOrders, "east-orders", []);
        EastCatalogSvid = Issue(eastCa, "spiffe://east.example/ns/shop/sa/catalog", "east-catalog", []);
        var westGateway = Issue(westCa, WestGateway, "west-gateway", ["localhost"]);
        var westStsCert = Issue(westCa, "spiffe://west.example/ns/idp/sa/sts", "west-sts", ["localhost"]);

        EastIdp = await StsServer.StartAsync(new StsOptions());
        WestSts = await StsServer.StartAsync(new StsOptions
        {
            Resources = new Dictionary<string, (string, string)>
            {
                ["https://payments.west.example/"] = ("payments", "payments.charge payments.read"),
                ["https://ledger.west.example/"] = ("ledger", "ledger.read"),
            },
            Clients = [new("east-orders", "tls_client_auth") { SanUri = EastOrders, Scope = "payments.charge payments.read ledger.read", ExchangeAudiences = ["payments"] }],
            SubjectIssuers = [(EastIdp.Issuer, EastIdp.Issuer + "/jwks")],
            Tls = (westStsCert.Certificate, westStsCert.Key, eastCaPaths.Certificate),
        });
        Payments = await EchoUpstream.StartAsync();

        West = await RunningGatehouse.StartAsync(Directory, "west", $$"""
            version: 1
            issuers:
              west-payments: { issuer: "{{WestSts.Issuer}}", discovery: true, audiences: [payments], algorithms: [RS256] }
              west-ledger: { issuer: "{{WestSts.Issuer}}", discovery: true, audiences: [ledger], algorithms: [RS256] }
            listeners:
              - name: edge
                mode: gateway
                address: "127.0.0.1:0"
                include_error_details: true
                tls:
                  certificate: {{westGateway.Certificate}}
                  key: {{westGateway.Key}}
                  client_certificate: require
                  trust_bundles: { east.example: {{eastCaPaths.Certificate}} }
            routes:
              - name: payments
                match: { path_prefix: /payments }
                upstream: {{Payments.Address.ToString().TrimEnd('/')}}
                authentication: { issuers: [west-payments], require_token: true, forward_authorization: true }
                policies: [payments-from-east-orders]
              - name: ledger
                match: { path_prefix: /ledger }
                upstream: {{Payments.Address.ToString().TrimEnd('/')}}
                authentication: { issuers: [west-ledger], require_token: true }
            policies:
              payments-from-east-orders:
                action: allow
                rules:
                  - from: { principals: ["{{EastOrders}}"] }
                    when: { scopes: [payments.charge], "claims.act.sub": ["{{EastOrders}}"] }
            """);
        var westAddress = West.Server.GetListenerUri("edge");

        string Route(string name, string host, string audience, string expectedPeer) => $$"""
              - name: {{name}}
                match: { hosts: [{{host}}] }
                upstream: https://127.0.0.1:{{westAddress.Port}}
                authentication: { issuers: [east], require_token: true }
                outbound:
                  client_certificate: {{EastOrdersSvid.Certificate}}
                  client_key: {{EastOrdersSvid.Key}}
                  trust_bundle: {{WestCa}}
                  expected_peer: {{expectedPeer}}
                  token:
                    mode: exchange
                    token_endpoint: {{WestSts.TlsTokenEndpoint}}
                    token_endpoint_ca: {{WestCa}}
                    client_id: east-orders
                    client_auth: tls_client_auth
                    audience: {{audience}}
                    scopes: [{{(audience == "payments" ? "payments.charge" : "ledger.read")}}]
                    actor: client_credentials
            """;
        East = await RunningGatehouse.StartAsync(Directory, "east", $$"""
            version: 1
            issuers:
              east: { issuer: "{{EastIdp.Issuer}}", discovery: true, audiences: [orders], algorithms: [RS256] }
            listeners:
              - { name: out, mode: outbound, address: "127.0.0.1:0", include_error_details: true }
            routes:
            {{Route("to-payments", "payments.west.example", "payments", WestGateway)}}
            {{Route("to-ledger", "ledger.west.example", "ledger", WestGateway)}}
            {{Route("to-impostor", "impostor.west.example", "payments", "spiffe://west.example/ns/pay/sa/somebody-else")}}
            """);
    }

    private string Dir(string name) => Path.Combine(Directory, name);

    private DevCertificatePaths WriteAuthority(DevCertificateAuthority ca, string name)
    {
        Assert.True(DevCertificateFiles.TryWriteAuthority(ca, Dir(name), out var paths, out var error), error);
        return paths;
    }

    private DevCertificatePaths Issue(DevCertificateAuthority ca, string id, string name, IReadOnlyList<string> dns)
    {
        Assert.True(ca.TryIssueWorkload(SpiffeId.Parse(id), new WorkloadCertificateOptions { DnsNames = dns }, out var issued, out var error), error);
        using (issued)
        {
            Assert.True(DevCertificateFiles.TryWriteWorkload(issued, Dir(name), out var paths, out error), error);
            return paths;
        }
    }

    public async Task DisposeAsync()
    {
        await East.DisposeAsync();
        await West.DisposeAsync();
        await Payments.DisposeAsync();
        await WestSts.DisposeAsync();
        await EastIdp.DisposeAsync();
    }
}

/// <summary>Runs its tests one at a time: one of them takes west's STS down and brings it back.</summary>
[CollectionDefinition(Name)]
public sealed class TwoClusterCollection : ICollectionFixture<TwoClusterFixture>
{
    public const string Name = "Two clusters (east, west)";
}

[Collection(TwoClusterCollection.Name)]
public sealed class TwoClusterTests(TwoClusterFixture fx)
{
    private string UserToken(string subject = "alice") =>
        fx.EastIdp.MintUserToken(subject, "orders", "orders.write", TimeSpan.FromMinutes(10));

    private async Task<(HttpResponseMessage Response, ReceivedRequest? Received)> CallPaymentsAsync(string host, string token, string? traceParent = null)
    {
        var path = "/payments/" + Guid.NewGuid().ToString("N");
        var response = await fx.East.SendAsync("out", host, path, token, traceParent, HttpMethod.Post);
        return (response, fx.Payments.Received.SingleOrDefault(r => r.PathAndQuery == path));
    }

    private async Task<string> Describe(HttpResponseMessage response) =>
        $"HTTP {(int)response.StatusCode} {string.Join(",", response.Headers.Select(h => h.Key + "=" + string.Join(" ", h.Value)))}\n{await response.Content.ReadAsStringAsync()}"
        + $"\n--- east ---\n{fx.East.Log}\n--- west ---\n{fx.West.Log}\n--- west STS ---\n{fx.WestSts.Log}";

    [Fact]
    public async Task EastUserToken_ReachesWest_AsAWestToken_NarrowedAndNamingTheEastWorkload_OverMtls()
    {
        var user = UserToken("alice");
        var traceId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

        var (response, received) = await CallPaymentsAsync("payments.west.example", user, $"00-{traceId}-00f067aa0ba902b7-01");

        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        Assert.True(received is not null, string.Join("\n", fx.Payments.Received.Select(r => r.Method + " " + r.PathAndQuery)) + await Describe(response));
        var claims = RunningGatehouse.Payload(received!.Header("authorization"));
        Assert.Equal(fx.WestSts.Issuer, claims.GetProperty("iss").GetString());
        Assert.Equal("payments", claims.GetProperty("aud").GetString());
        Assert.Equal("alice", claims.GetProperty("sub").GetString());
        Assert.Equal("payments.charge", claims.GetProperty("scope").GetString());
        Assert.Equal(TwoClusterFixture.EastOrders, claims.GetProperty("act").GetProperty("sub").GetString());
        Assert.DoesNotContain(user, received.Header("authorization"), StringComparison.Ordinal);

        // West decided on its own (peer = the east SVID, token = the west token), and both audit records share the trace.
        var east = (await fx.East.AuditAsync()).Last(r => r.GetProperty("route").GetString() == "to-payments");
        var west = (await fx.West.AuditAsync()).Last(r => r.GetProperty("route").GetString() == "payments");
        Assert.Equal("allow", east.GetProperty("decision").GetString());
        Assert.Equal("allow", west.GetProperty("decision").GetString());
        Assert.Equal(traceId, east.GetProperty("trace_id").GetString());
        Assert.Equal(traceId, west.GetProperty("trace_id").GetString());
        Assert.Contains(TwoClusterFixture.EastOrders, west.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(user, File.ReadAllText(fx.East.AuditPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StsRefusal_IsReturnedToTheApp_AndNothingReachesWest()
    {
        var before = fx.Payments.Received.Count;

        var (response, _) = await CallPaymentsAsync("ledger.west.example", UserToken());

        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, await Describe(response));
        Assert.Equal("outbound.exchange_refused:invalid_target", response.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal(before, fx.Payments.Received.Count);
    }

    [Fact]
    public async Task WrongPeerIdentity_IsRefusedInTheHandshake()
    {
        var before = fx.Payments.Received.Count;

        var (response, _) = await CallPaymentsAsync("impostor.west.example", UserToken());

        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, await Describe(response));
        Assert.Contains("upstream.unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("somebody-else", fx.East.Log, StringComparison.Ordinal); // the TLS log names the identity it expected
        Assert.Equal(before, fx.Payments.Received.Count);
    }

    [Fact]
    public async Task ExchangedToken_ReplayedToAnotherAudience_IsRefusedAtWest()
    {
        var (response, received) = await CallPaymentsAsync("payments.west.example", UserToken("bob"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        var stolen = received!.Header("authorization")!["Bearer ".Length..];

        // The same token, presented directly to west by the same east workload, for the ledger (audience ledger).
        var replay = await WestDirectAsync("/ledger/entries", stolen, fx.EastOrdersSvid);
        // ...and for payments by another east workload: the token is fine, the peer is not (west's policy).
        var otherPeer = await WestDirectAsync("/payments/x", stolen, fx.EastCatalogSvid);

        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Equal("token.audience_mismatch", replay.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Equal(HttpStatusCode.Forbidden, otherPeer.StatusCode);
    }

    [Fact]
    public async Task StsDown_CachedExchangeKeepsServing_NewSubjectsGet503_ThenRecovery()
    {
        var cachedUser = UserToken("carol");
        var (warm, warmReceived) = await CallPaymentsAsync("payments.west.example", cachedUser);
        Assert.True(warm.StatusCode == HttpStatusCode.OK, await Describe(warm));

        await fx.WestSts.StopAsync();
        try
        {
            var (cached, cachedReceived) = await CallPaymentsAsync("payments.west.example", cachedUser);
            var before = fx.Payments.Received.Count;
            var (fresh, _) = await CallPaymentsAsync("payments.west.example", UserToken("dave"));

            Assert.True(cached.StatusCode == HttpStatusCode.OK, await Describe(cached));
            Assert.Equal(warmReceived!.Header("authorization"), cachedReceived!.Header("authorization"));
            Assert.True(fresh.StatusCode == HttpStatusCode.ServiceUnavailable, await Describe(fresh));
            Assert.Equal("outbound.token_unavailable", fresh.Headers.GetValues("x-gatehouse-reason").Single());
            Assert.Equal(before, fx.Payments.Received.Count);
        }
        finally
        {
            await fx.WestSts.RestartAsync();
        }

        var (recovered, _) = await CallPaymentsAsync("payments.west.example", UserToken("erin"));
        Assert.True(recovered.StatusCode == HttpStatusCode.OK, await Describe(recovered));
    }

    private async Task<HttpResponseMessage> WestDirectAsync(string path, string token, DevCertificatePaths clientSvid)
    {
        using var westCa = X509Certificate2.CreateFromPem(File.ReadAllText(fx.WestCa));
        using var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(clientSvid.Certificate, clientSvid.Key)];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(westCa);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is not null && chain.Build(new X509Certificate2(certificate));
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fx.West.Server.GetListenerUri("edge"), path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
