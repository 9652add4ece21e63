using System.Net;
using System.Text.Json;
using Gatehouse.Cli.Audit;
using Gatehouse.Tests.Cli;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.TxnTokens;

/// <summary>
/// Transaction Tokens end to end on real parts (<see cref="TxnTokenMesh"/>): an external token enters at the gateway,
/// the services behind receive only Txn-Tokens (minted at the gateway, replaced with a narrower one by the orders
/// sidecar for payments), a forged, expired, wrong-audience or re-signed Txn-Token is refused at every hop, the signing
/// key rotates without a failed request, and the audit files of the processes reconstruct the chain through
/// <c>gatehouse audit summarize --txn</c>.
/// </summary>
public sealed class TxnTokenChainTests : IAsyncLifetime
{
    private TxnTokenMesh _mesh = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _mesh = await TxnTokenMesh.StartAsync();
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _mesh.Gateway.Server.GetListenerUri("edge"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _mesh.DisposeAsync();
    }

    private async Task<HttpResponseMessage> Checkout(string? operation = null, string? clientTxnToken = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + _mesh.ExternalToken());
        if (operation is not null)
        {
            request.Headers.TryAddWithoutValidation("x-op", operation);
        }

        if (clientTxnToken is not null)
        {
            request.Headers.TryAddWithoutValidation("txn-token", clientTxnToken);
        }

        return await _client.SendAsync(request);
    }

    private static string Reason(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-gatehouse-reason", out var values) ? values.First() : "(none)";

    private Dictionary<string, object> TxnClaims(string aud = TxnTokenMesh.TrustDomain, int issuedSecondsAgo = 0, int lifetime = 60, string scope = "orders.write payments.charge") => new()
    {
        ["iss"] = TxnTokenMesh.TxnIssuer,
        ["aud"] = aud,
        ["sub"] = "user-42",
        ["iat"] = DateTimeOffset.UtcNow.AddSeconds(-issuedSecondsAgo).ToUnixTimeSeconds(),
        ["exp"] = DateTimeOffset.UtcNow.AddSeconds(lifetime - issuedSecondsAgo).ToUnixTimeSeconds(),
        ["txn"] = "txn-attacker",
        ["scope"] = scope,
        ["req_wl"] = TxnTokenMesh.GatewayId + "," + TxnTokenMesh.OrdersId,
        ["tctx"] = new Dictionary<string, object> { ["route"] = "checkout" },
    };

    [Fact]
    public async Task External_token_in_txn_tokens_behind_refusals_at_every_hop_rotation_and_the_audit_story()
    {
        // 1. The chain: gateway (external token) → orders sidecar → orders app → outbound sidecar (replacement) → payments.
        using (var ok = await Checkout())
        {
            Assert.True(ok.StatusCode == HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        }

        var atOrders = Assert.Single(_mesh.OrdersApp.Received);
        var atPayments = Assert.Single(_mesh.PaymentsApp.Received);
        Assert.False(atOrders.ContainsKey("authorization"), "the external token reached orders");
        Assert.False(atPayments.ContainsKey("authorization"), "a token reached payments in Authorization");
        var ordersTxn = atOrders["txn-token"];
        var paymentsTxn = atPayments["txn-token"];
        Assert.NotEqual(ordersTxn, paymentsTxn);
        var minted = TxnTokenMesh.Payload(ordersTxn);
        var replaced = TxnTokenMesh.Payload(paymentsTxn);
        Assert.Equal("txntoken+jwt", TxnTokenMesh.Header(ordersTxn).GetProperty("typ").GetString());
        Assert.Equal("orders.write payments.charge", minted.GetProperty("scope").GetString());
        Assert.Equal("payments.charge", replaced.GetProperty("scope").GetString());
        var txnId = minted.GetProperty("txn").GetString()!;
        Assert.Equal(txnId, replaced.GetProperty("txn").GetString());
        Assert.Equal("user-42", replaced.GetProperty("sub").GetString());
        Assert.Contains(TxnTokenMesh.OrdersId, replaced.GetProperty("req_wl").ToString(), StringComparison.Ordinal);

        // 2. The audit files of the processes tell the chain, hop by hop, through `audit summarize --txn`.
        foreach (var node in new[] { _mesh.Gateway, _mesh.Orders, _mesh.Payments, _mesh.Tts })
        {
            await node.Server.FlushAuditAsync();
        }

        string[] files = [_mesh.Gateway.AuditPath, _mesh.Orders.AuditPath, _mesh.Tts.AuditPath, _mesh.Payments.AuditPath];
        var trail = TransactionTrail.FromFiles(files, txnId);
        var hops = trail.Hops.Select(h => h.Callee).ToList();
        Assert.True(hops.IndexOf("gateway/edge") is 0, string.Join(" | ", hops));
        Assert.True(hops.IndexOf("orders-sidecar/in") > 0 && hops.IndexOf("orders-sidecar/out") > hops.IndexOf("orders-sidecar/in")
            && hops.IndexOf("payments-sidecar/in") > hops.IndexOf("orders-sidecar/out"), string.Join(" | ", hops));
        Assert.All(trail.Hops, h => Assert.True(h.Allowed, h.Callee + ": " + string.Join(",", h.Reasons)));
        Assert.Equal(TxnTokenMesh.GatewayId, trail.Hops.First(h => h.Callee == "orders-sidecar/in").Caller);
        Assert.Equal(TxnTokenMesh.OrdersId, trail.Hops.First(h => h.Callee == "payments-sidecar/in").Caller);
        Assert.Equal(["payments.charge"], trail.Hops.First(h => h.Callee == "payments-sidecar/in").Scopes);
        Assert.Equal("checkout", trail.StartedAtRoute);
        var cli = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), ["audit", "summarize", .. files, "--txn", txnId]);
        Assert.True(cli.ExitCode == 0, cli.StdErr + cli.StdOut);
        Assert.Contains($"{TxnTokenMesh.OrdersId} -> payments-sidecar/in", cli.StdOut, StringComparison.Ordinal);
        foreach (var file in files)
        {
            var text = await File.ReadAllTextAsync(file);
            Assert.DoesNotContain(ordersTxn, text, StringComparison.Ordinal);
            Assert.DoesNotContain(paymentsTxn, text, StringComparison.Ordinal);
        }

        // 3. Denied deeper in the chain: payments refuses a refund (policy), the caller sees it.
        using (var refund = await Checkout(operation: "refund"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refund.StatusCode);
        }

        // 4. A client's own Txn-Token never passes the gateway: it is removed and a fresh one minted.
        var key1 = _mesh.TxnKeys["txn-1"];
        var smuggled = TxnTokenMesh.SignTxn(key1, "txn-1", TxnClaims());
        using (var withSmuggled = await Checkout(clientTxnToken: smuggled))
        {
            Assert.Equal(HttpStatusCode.OK, withSmuggled.StatusCode);
        }

        Assert.NotEqual(smuggled, _mesh.OrdersApp.Received.Last()["txn-token"]);

        // 5. Refused at every hop behind the gateway: forged, expired, wrong audience, re-signed with another key,
        //    signed for too long, and an access token in the txn-token header.
        using var rogue = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var parts = ordersTxn.Split('.');
        var forgedClaims = JsonSerializer.Deserialize<Dictionary<string, object>>(TxnTokenMesh.Payload(ordersTxn).GetRawText())!;
        forgedClaims["scope"] = "orders.write payments.charge payments.refund";
        var forged = parts[0] + "." + Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(JsonSerializer.Serialize(forgedClaims)) + "." + parts[2];
        var bad = new (string Name, string Token, string Reason)[]
        {
            ("forged", forged, "token.signature_invalid"),
            ("expired", TxnTokenMesh.SignTxn(key1, "txn-1", TxnClaims(issuedSecondsAgo: 120)), "token.expired"),
            ("wrong audience", TxnTokenMesh.SignTxn(key1, "txn-1", TxnClaims(aud: "other.example")), "token.audience_mismatch"),
            ("re-signed", TxnTokenMesh.SignTxn(rogue, "txn-1", TxnClaims()), "token.signature_invalid"),
            ("long-lived", TxnTokenMesh.SignTxn(key1, "txn-1", TxnClaims(lifetime: 3600)), "txn_token.lifetime_exceeded"),
            ("access token", _mesh.ExternalToken(), "txn_token.typ_invalid"),
        };
        using var asGateway = _mesh.MtlsClient(_mesh.GatewaySvid);
        using var asOrders = _mesh.MtlsClient(_mesh.OrdersSvid);
        var hopsToAttack = new (HttpClient Client, Uri Target)[]
        {
            (asGateway, new Uri(_mesh.Orders.Server.GetListenerUri("in"), "/orders")),
            (asOrders, new Uri(_mesh.Payments.Server.GetListenerUri("in"), "/payments/charge")),
        };
        var received = (_mesh.OrdersApp.Received.Count, _mesh.PaymentsApp.Received.Count);
        foreach (var (client, target) in hopsToAttack)
        {
            foreach (var (name, token, reason) in bad)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new UriBuilder(target) { Host = "localhost" }.Uri);
                request.Headers.TryAddWithoutValidation("txn-token", token);
                using var response = await client.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized && Reason(response) == reason,
                    $"{name} at {target}: {(int)response.StatusCode} {Reason(response)}, expected 401 {reason}");
            }
        }

        Assert.Equal(received, (_mesh.OrdersApp.Received.Count, _mesh.PaymentsApp.Received.Count));

        // 6. Key rotation without a failed request: requests keep flowing while the service and then the gateway switch
        //    to txn-2 (published beside txn-1; the sidecars re-fetch the JWKS on the unknown kid).
        using var stop = new CancellationTokenSource();
        var statuses = new List<HttpStatusCode>();
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await Checkout();
                lock (statuses)
                {
                    statuses.Add(response.StatusCode);
                }
            }
        });
        await _mesh.Tts.RewriteAsync(_mesh.TtsConfig(rotated: true));
        await WaitUntilAsync(async () => (await Jwks(_mesh.Tts)).Contains("\"txn-2\"", StringComparison.Ordinal), "the service publishes txn-2");
        await _mesh.Gateway.RewriteAsync(_mesh.GatewayConfig(_mesh.Orders.Server.GetListenerUri("in").Port, rotated: true));
        await WaitUntilAsync(() => Task.FromResult(_mesh.OrdersApp.Received.Any(h => h.TryGetValue("txn-token", out var t) && TxnTokenMesh.Header(t).GetProperty("kid").GetString() == "txn-2")),
            "the gateway mints with txn-2");
        await WaitUntilAsync(() => Task.FromResult(_mesh.PaymentsApp.Received.Any(h => TxnTokenMesh.Header(h["txn-token"]).GetProperty("kid").GetString() == "txn-2")),
            "the service replaces with txn-2");
        await Task.Delay(300);
        await stop.CancelAsync();
        await traffic;
        lock (statuses)
        {
            Assert.True(statuses.Count >= 3, "too little traffic during the rotation: " + statuses.Count);
            Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        }

        // 7. Replay after the short exp, on a payments replica whose clock the test drives (FakeTimeProvider).
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replica = await TxnTokenMesh.Node.StartAsync(_mesh.Directory, "payments-sidecar",
            await File.ReadAllTextAsync(_mesh.Payments.ConfigPath), clock, watch: false);
        var replayTarget = new UriBuilder(new Uri(replica.Server.GetListenerUri("in"), "/payments/charge")) { Host = "localhost" }.Uri;
        var captured = _mesh.PaymentsApp.Received.Last()["txn-token"];
        async Task<HttpResponseMessage> Replay()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, replayTarget);
            request.Headers.TryAddWithoutValidation("txn-token", captured);
            return await asOrders.SendAsync(request);
        }

        using (var fresh = await Replay())
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }

        clock.Advance(TimeSpan.FromSeconds(70));
        using (var late = await Replay())
        {
            Assert.Equal((HttpStatusCode.Unauthorized, "token.expired"), (late.StatusCode, Reason(late)));
        }
    }

    private static async Task<string> Jwks(TxnTokenMesh.Node node)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        return await client.GetStringAsync(new Uri(node.Server.GetListenerUri("admin"), "/.well-known/jwks.json"));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("timed out waiting until " + what);
    }
}
