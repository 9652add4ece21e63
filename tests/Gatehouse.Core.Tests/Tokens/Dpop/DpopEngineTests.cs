using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Model;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Runtime;
using Gatehouse.State;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Dpop;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Tokens.Dpop;

/// <summary>
/// DPoP through the decision engine (RFC 9449 §7): no downgrade of bound tokens to bearer, require_dpop, replay,
/// server nonces and their rotation, and fail-closed when the replay cache cannot answer. Real config, real issuer
/// (jwks_file), manual clock.
/// </summary>
public sealed class DpopEngineTests : IAsyncLifetime
{
    private static readonly Lazy<TestKey> s_issuer = new(() => TestKey.Rsa("idp-1"));
    private static readonly Lazy<TestKey> s_client = new(() => TestKey.Ec("client"));
    private static readonly Lazy<TestKey> s_thief = new(() => TestKey.Ec("thief"));

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private string _dir = "";
    private GatehouseSnapshot _snapshot = null!;
    private IReadOnlyList<IssuerRuntime> _issuers = [];

    public async Task InitializeAsync()
    {
        _dir = Gatehouse.Testing.TestTemp.CreateDirectory("dpop-engine-");
        var jwks = Path.Combine(_dir, "jwks.json");
        await File.WriteAllTextAsync(jwks, TestKey.Jwks(s_issuer.Value));
        var yaml = $$"""
            version: 1
            issuers:
              corp: { issuer: {{TestTokens.Issuer}}, jwks_file: {{jwks}}, audiences: [orders], algorithms: [RS256] }
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
              - { name: strict, mode: gateway, address: "127.0.0.1:0", dpop: { nonce: true, nonce_rotation: 1m, algorithms: [ES256] } }
            routes:
              - { name: orders, match: { path_prefix: /orders }, upstream: "http://127.0.0.1:1", authentication: { issuers: [corp] } }
              - { name: payments, match: { path_prefix: /payments }, upstream: "http://127.0.0.1:1", authentication: { issuers: [corp], require_dpop: true } }
            """;
        var load = ConfigLoader.LoadYaml(yaml, "dpop.yaml", _dir, new Dictionary<string, string>());
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        var compilation = new SnapshotCompiler(new HttpClient(), _time, NullLoggerFactory.Instance).Compile(load.Config!, null);
        foreach (var issuer in compilation.Started)
        {
            await issuer.StartAsync(CancellationToken.None);
        }

        _issuers = compilation.Started;
        _snapshot = compilation.Snapshot;
    }

    public async Task DisposeAsync()
    {
        foreach (var issuer in _issuers)
        {
            await issuer.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private DecisionEngine Engine(IStateStore? state = null) =>
        new(new TokenAuthenticator(_time, NullLoggerFactory.Instance), new DpopVerifier(_time, state ?? new MemoryStateStore(_time, 1000), NullLoggerFactory.Instance));

    private string Token(TestKey? boundTo)
    {
        var claims = TestTokens.Claims(_time.GetUtcNow());
        claims["scope"] = "orders.read";
        if (boundTo is not null)
        {
            claims["cnf"] = new JsonObject { ["jkt"] = DpopProofs.Thumbprint(boundTo) };
        }

        return TestTokens.Sign(s_issuer.Value, claims);
    }

    private string Proof(string token, string path = "/orders/1", string? nonce = null, TestKey? key = null) =>
        DpopProofs.Create(key ?? s_client.Value, "GET", "https://api.example.com" + path, token, _time.GetUtcNow(), nonce: nonce);

    private static AuthorizationRequest Request(string? authorization, string? dpop, string path = "/orders/1", string listener = "edge")
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (authorization is not null)
        {
            headers["authorization"] = authorization;
        }

        if (dpop is not null)
        {
            headers["dpop"] = dpop;
        }

        return new AuthorizationRequest
        {
            Method = "GET",
            Host = "api.example.com",
            Port = 443,
            Scheme = "https",
            RawPath = path,
            GetHeader = headers.GetValueOrDefault,
            SourceAddress = IPAddress.Loopback,
            Listener = listener,
        };
    }

    [Fact]
    public async Task BoundToken_AsBearerWithoutProof_IsRefused_NoDowngrade()
    {
        var token = Token(s_client.Value);

        var decision = await Engine().DecideAsync(Request("Bearer " + token, null), _snapshot);

        Assert.Equal(401, decision.StatusCode);
        Assert.Equal("dpop.proof_missing:bearer_scheme", decision.Reasons[0]);
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", decision.Challenge, StringComparison.Ordinal);
        Assert.Contains("algs=\"ES256 PS256 RS256 EdDSA\"", decision.Challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoundToken_AsBearerEvenWithAValidProof_IsRefused()
    {
        var token = Token(s_client.Value);

        var decision = await Engine().DecideAsync(Request("Bearer " + token, Proof(token)), _snapshot);

        Assert.Equal("dpop.proof_missing:bearer_scheme", decision.Reasons[0]);
    }

    [Fact]
    public async Task BoundToken_WithDpopSchemeButNoProof_IsRefused()
    {
        var decision = await Engine().DecideAsync(Request("DPoP " + Token(s_client.Value), null), _snapshot);

        Assert.Equal(401, decision.StatusCode);
        Assert.Equal(ReasonCodes.DpopProofMissing, decision.Reasons[0]);
    }

    [Fact]
    public async Task BoundToken_WithValidProof_IsAllowed_ThenTheSameProofIsAReplay()
    {
        var engine = Engine();
        var token = Token(s_client.Value);
        var proof = Proof(token);

        var first = await engine.DecideAsync(Request("DPoP " + token, proof), _snapshot);
        var again = await engine.DecideAsync(Request("DPoP " + token, proof), _snapshot);
        var fresh = await engine.DecideAsync(Request("DPoP " + token, Proof(token)), _snapshot);

        Assert.True(first.Allowed, string.Join(",", first.Reasons));
        Assert.Contains("dpop", first.RemoveHeaders);
        Assert.Contains("authorization", first.RemoveHeaders);
        Assert.Equal(ReasonCodes.DpopReplayed, again.Reasons[0]);
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", again.Challenge, StringComparison.Ordinal);
        Assert.True(fresh.Allowed);
    }

    [Fact]
    public async Task StolenBoundToken_WithTheThiefsOwnProof_IsABindingMismatch()
    {
        var token = Token(s_client.Value);

        var decision = await Engine().DecideAsync(Request("DPoP " + token, Proof(token, key: s_thief.Value)), _snapshot);

        Assert.Equal(ReasonCodes.DpopBindingMismatch, decision.Reasons[0]);
        Assert.StartsWith("DPoP error=\"invalid_token\"", decision.Challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnboundToken_WithDpopScheme_IsRefused()
    {
        var token = Token(null);

        var decision = await Engine().DecideAsync(Request("DPoP " + token, Proof(token)), _snapshot);

        Assert.Equal("dpop.binding_mismatch:token_not_bound", decision.Reasons[0]);
    }

    [Fact]
    public async Task UnboundBearerToken_OnAnOrdinaryRoute_IsStillAccepted()
    {
        var decision = await Engine().DecideAsync(Request("Bearer " + Token(null), null), _snapshot);

        Assert.True(decision.Allowed);
        Assert.DoesNotContain("dpop", decision.RemoveHeaders);
    }

    [Fact]
    public async Task RequireDpopRoute_RefusesBearerTokens_AndChallengesForDpop()
    {
        var engine = Engine();
        var bearer = await engine.DecideAsync(Request("Bearer " + Token(null), null, "/payments/1"), _snapshot);
        var none = await engine.DecideAsync(Request(null, null, "/payments/1"), _snapshot);
        var token = Token(s_client.Value);
        var dpop = await engine.DecideAsync(Request("DPoP " + token, Proof(token, "/payments/1"), "/payments/1"), _snapshot);

        Assert.Equal("dpop.proof_missing:bearer_scheme", bearer.Reasons[0]);
        Assert.Equal(ReasonCodes.TokenMissing, none.Reasons[0]);
        Assert.Equal("DPoP algs=\"ES256 PS256 RS256 EdDSA\"", none.Challenge);
        Assert.True(dpop.Allowed, string.Join(",", dpop.Reasons));
    }

    [Fact]
    public async Task ProofForAnotherPath_IsRefused()
    {
        var token = Token(s_client.Value);

        var decision = await Engine().DecideAsync(Request("DPoP " + token, Proof(token, "/orders/2")), _snapshot);

        Assert.Equal("dpop.proof_invalid:htu", decision.Reasons[0]);
    }

    [Fact]
    public async Task NonceListener_AnswersUseDpopNonce_ThenAcceptsIt_AndRotates()
    {
        var engine = Engine();
        var token = Token(s_client.Value);

        var first = await engine.DecideAsync(Request("DPoP " + token, Proof(token), listener: "strict"), _snapshot);
        Assert.Equal(401, first.StatusCode);
        Assert.Equal("dpop.nonce_required:missing", first.Reasons[0]);
        Assert.StartsWith("DPoP error=\"use_dpop_nonce\"", first.Challenge, StringComparison.Ordinal);
        Assert.Contains("algs=\"ES256\"", first.Challenge, StringComparison.Ordinal);
        var nonce = Assert.Single(first.ResponseHeaders, h => h.Key == "DPoP-Nonce").Value;

        var second = await engine.DecideAsync(Request("DPoP " + token, Proof(token, nonce: nonce), listener: "strict"), _snapshot);
        Assert.True(second.Allowed, string.Join(",", second.Reasons));

        // One rotation later the previous nonce is still good; two rotations later it is stale.
        _time.Advance(TimeSpan.FromMinutes(1));
        token = Token(s_client.Value);
        Assert.True((await engine.DecideAsync(Request("DPoP " + token, Proof(token, nonce: nonce), listener: "strict"), _snapshot)).Allowed);
        _time.Advance(TimeSpan.FromMinutes(1));
        var stale = await engine.DecideAsync(Request("DPoP " + token, Proof(token, nonce: nonce), listener: "strict"), _snapshot);
        Assert.Equal("dpop.nonce_required:stale", stale.Reasons[0]);
        Assert.NotEqual(nonce, Assert.Single(stale.ResponseHeaders).Value);
    }

    [Fact]
    public async Task ReplayCacheThatCannotAnswer_FailsClosedWith503()
    {
        // A memory store of one entry, already holding a live proof: the next proof cannot be recorded.
        var engine = Engine(new MemoryStateStore(_time, 1));
        var token = Token(s_client.Value);
        Assert.True((await engine.DecideAsync(Request("DPoP " + token, Proof(token)), _snapshot)).Allowed);

        var decision = await engine.DecideAsync(Request("DPoP " + token, Proof(token)), _snapshot);

        Assert.Equal(503, decision.StatusCode);
        Assert.Equal(ReasonCodes.StateUnavailable, decision.Reasons[0]);
        Assert.Null(decision.Challenge);

        // Once the first proof is past its window, its slot is free again.
        _time.Advance(TimeSpan.FromSeconds(70));
        token = Token(s_client.Value);
        Assert.True((await engine.DecideAsync(Request("DPoP " + token, Proof(token)), _snapshot)).Allowed);
    }

    [Fact]
    public async Task ReplayedProof_AfterItsWindow_IsTooOldAnyway()
    {
        var engine = Engine();
        var token = Token(s_client.Value);
        var proof = Proof(token);
        Assert.True((await engine.DecideAsync(Request("DPoP " + token, proof), _snapshot)).Allowed);

        _time.Advance(TimeSpan.FromSeconds(66));

        Assert.Equal("dpop.proof_invalid:iat", (await engine.DecideAsync(Request("DPoP " + token, proof), _snapshot)).Reasons[0]);
    }
}
