using System.Text.Json.Nodes;
using System.Web;
using Gatehouse.Configuration;
using Gatehouse.Outbound;
using Gatehouse.Tests.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Outbound;

/// <summary>
/// Replacement Txn-Tokens (draft-ietf-oauth-transaction-tokens-10 §7.4) against a loopback token endpoint whose answers
/// are injected: the request's shape, the answer's checks (issued_token_type), refusals and outages, and the cache that
/// never outlives the replaced token. The real Txn-Token Service over mTLS is in Gatehouse.Tests (TxnTokenChainTests).
/// </summary>
public sealed class TxnTokenReplacerTests : IAsyncDisposable
{
    private const string TxnType = "urn:ietf:params:oauth:token-type:txn_token";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 1, 0, 0, TimeSpan.Zero));
    private static readonly Lazy<TestKey> s_key = new(() => TestKey.Ec("txn-1"));
    private LoopbackServer? _server;

    private string Txn(int lifetimeSeconds, string scope = "orders.write payments.charge") => TestTokens.Sign(s_key.Value, new JsonObject
    {
        ["iss"] = "https://txn.shop.example",
        ["aud"] = "shop.example",
        ["sub"] = "user-42",
        ["txn"] = "t-1",
        ["scope"] = scope,
        ["iat"] = _time.GetUtcNow().ToUnixTimeSeconds(),
        ["exp"] = _time.GetUtcNow().AddSeconds(lifetimeSeconds).ToUnixTimeSeconds(),
    }, header: h => h["typ"] = "txntoken+jwt");

    private TxnTokenReplacer Create(Func<LoopbackRequest, LoopbackResponse> handler)
    {
        _server = new LoopbackServer(handler);
        var txn = new OutboundTxnTokenConfig { Replace = true, Scopes = ["payments.charge"], TokenEndpoint = _server.Url("/token") };
        var clientConfig = new OutboundTokenConfig { Mode = OutboundTokenMode.Exchange, TokenEndpoint = txn.TokenEndpoint, ClientAuth = OutboundClientAuth.TlsClientAuth };
        var client = new TokenEndpointClient(clientConfig, "to-payments", null, new HttpClient(), ownsHttp: true, _time, NullLogger.Instance);
        return new TxnTokenReplacer("to-payments", txn, "shop.example", client, _time, null);
    }

    private static LoopbackResponse Issued(string token, string issuedType = TxnType) =>
        LoopbackResponse.Json($$"""{"access_token":"{{token}}","issued_token_type":"{{issuedType}}","token_type":"N_A","expires_in":60}""");

    [Fact]
    public async Task Sends_the_draft_request_and_reuses_the_replacement()
    {
        var subject = Txn(60);
        var replacement = Txn(60, scope: "payments.charge");
        var replacer = Create(_ => Issued(replacement));

        var first = await replacer.ReplaceAsync(subject, CancellationToken.None);
        var second = await replacer.ReplaceAsync(subject, CancellationToken.None);

        Assert.True(first.Succeeded, first.Detail);
        Assert.Equal(replacement, first.Token);
        Assert.True(second.FromCache);
        var form = HttpUtility.ParseQueryString(Assert.Single(_server!.Requests).Body);
        Assert.Equal("urn:ietf:params:oauth:grant-type:token-exchange", form["grant_type"]);
        Assert.Equal(TxnType, form["requested_token_type"]);
        Assert.Equal(subject, form["subject_token"]);
        Assert.Equal(TxnType, form["subject_token_type"]);
        Assert.Equal("shop.example", form["audience"]);
        Assert.Equal("payments.charge", form["scope"]);
        // mTLS authenticates the caller (its SPIFFE ID): no client id or secret is sent.
        Assert.Null(form["client_id"]);
        Assert.Null(form["client_secret"]);
    }

    [Fact]
    public async Task An_access_token_in_the_answer_is_never_used_as_a_txn_token()
    {
        var replacer = Create(_ => Issued(Txn(60), issuedType: "urn:ietf:params:oauth:token-type:access_token"));

        var result = await replacer.ReplaceAsync(Txn(60), CancellationToken.None);

        Assert.Equal(OutboundTokenFailure.Unavailable, result.Failure);
        Assert.Null(result.Token);
    }

    [Fact]
    public async Task Refusal_and_outage_are_told_apart_and_not_cached()
    {
        var answer = LoopbackResponse.Json("""{"error":"invalid_scope","error_description":"a replacement only narrows"}""", 400);
        var replacer = Create(_ => answer);
        var subject = Txn(60);

        var refused = await replacer.ReplaceAsync(subject, CancellationToken.None);
        answer = LoopbackResponse.Dropped();
        var down = await replacer.ReplaceAsync(subject, CancellationToken.None);

        Assert.Equal((OutboundTokenFailure.Refused, "invalid_scope"), (refused.Failure, refused.Error));
        Assert.Equal(OutboundTokenFailure.Unavailable, down.Failure);
        Assert.Equal(2, _server!.Count("/token"));
    }

    [Fact]
    public async Task A_cached_replacement_never_outlives_the_replaced_token()
    {
        var replacer = Create(_ => Issued(Txn(60, scope: "payments.charge")));
        var subject = Txn(10);

        await replacer.ReplaceAsync(subject, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(11));
        var after = await replacer.ReplaceAsync(subject, CancellationToken.None);

        Assert.False(after.FromCache);
        Assert.Equal(2, _server!.Count("/token"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
