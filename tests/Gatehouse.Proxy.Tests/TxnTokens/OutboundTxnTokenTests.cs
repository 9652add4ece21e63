using System.Net;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Proxy.Tests.TxnTokens;

/// <summary>
/// An outbound sidecar listener passes the app's <c>txn-token</c> header on unchanged, and removes it on a route whose
/// upstream is outside the trust domain (<c>outbound.txn_token.forward: false</c>); a replacing route without a
/// Txn-Token on the app's request sends nothing upstream.
/// </summary>
public sealed class OutboundTxnTokenTests : IAsyncLifetime
{
    private GatewayHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await GatewayHarness.StartAsync((u, j) => $$"""
        version: 1
        issuers:
          corp: { issuer: "{{TestIssuerKeys.Issuer}}", jwks_file: {{j}}, audiences: [{{TestIssuerKeys.Audience}}] }
        listeners:
          - { name: edge, mode: outbound, address: "127.0.0.1:0", include_error_details: true }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
        routes:
          - name: inside
            match: { hosts: [payments.shop.example] }
            upstream: {{u}}
            authentication: { require_token: false }
          - name: outside
            match: { hosts: [api.partner.example] }
            upstream: {{u}}
            authentication: { require_token: false }
            outbound: { txn_token: { forward: false } }
          - name: narrowed
            match: { hosts: [ledger.shop.example] }
            upstream: {{u}}
            authentication: { require_token: false }
            outbound:
              client_certificate: {{j}}
              client_key: {{j}}
              txn_token: { replace: true, scopes: [ledger.read], audience: shop.example, token_endpoint: "http://127.0.0.1:9/token" }
        policies: {}
        """);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private async Task<HttpResponseMessage> Call(string host, string? txnToken) => await _harness.GetAsync("/x", configure: r =>
    {
        r.Headers.Host = host;
        if (txnToken is not null)
        {
            r.Headers.TryAddWithoutValidation("txn-token", txnToken);
        }
    });

    [Fact]
    public async Task Passed_on_unchanged_inside_removed_outside()
    {
        using var inside = await Call("payments.shop.example", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
        var received = _harness.Upstream.Last();
        using var outside = await Call("api.partner.example", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
        var partner = _harness.Upstream.Last();

        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
        Assert.Equal("eyJhbGciOiJFUzI1NiJ9.e30.c2ln", received.Headers["txn-token"]);
        Assert.Equal(HttpStatusCode.OK, outside.StatusCode);
        Assert.False(partner.Headers.ContainsKey("txn-token"));
    }

    [Fact]
    public async Task Replacing_route_without_a_txn_token_sends_nothing()
    {
        using var response = await Call("ledger.shop.example", txnToken: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("txn_token.missing", response.Headers.GetValues("x-gatehouse-reason").Single());
        Assert.Empty(_harness.Upstream.Received);
    }
}
