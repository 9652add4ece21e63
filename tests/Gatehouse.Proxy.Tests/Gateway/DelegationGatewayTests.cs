using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Proxy.Gateway;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// RFC 8693 delegation on a real gateway (Kestrel on loopback, real upstream): "the billing agent may act for a
/// customer, but only on /invoices", the route's max_delegation_depth, a malformed <c>act</c>, and the chain in the
/// audit records. Nothing refused reaches the upstream.
/// </summary>
public sealed class DelegationGatewayTests : IAsyncLifetime
{
    private readonly RecordingSink _audit = new();
    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() => _gateway = await GatewayHarness.StartAsync(
        config: (upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks,
            routes: $$"""
                  - name: billing
                    match: { path_prefix: / }
                    upstream: {{upstream}}
                    authentication: { issuers: [corp], max_delegation_depth: 1 }
                    policies: [customers-and-billing-agent]
                """,
            policies: """
                  customers-and-billing-agent:
                    action: allow
                    rules:
                      - when: { roles: [customer], not_actors: ["*"] }
                      - to: { paths: ["/invoices", "/invoices/*"] }
                        when: { roles: [customer], actor: [billing-agent] }
                """),
        auditSinks: [_audit]);

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private string Mint(object? act) => _gateway.Keys.Mint(overrides: new Dictionary<string, object?>
    {
        ["sub"] = "alice",
        ["roles"] = new[] { "customer" },
        ["act"] = act,
    });

    private static Dictionary<string, object> Actor(string sub, Dictionary<string, object>? inner = null)
    {
        var act = new Dictionary<string, object> { ["sub"] = sub };
        if (inner is not null)
        {
            act["act"] = inner;
        }

        return act;
    }

    [Fact]
    public async Task BillingAgent_ForACustomer_ReachesInvoicesOnly()
    {
        var agent = Mint(Actor("billing-agent"));

        using var invoices = await _gateway.GetAsync("/invoices/7", agent);
        var forwarded = _gateway.Upstream.Received.Count;
        using var profile = await _gateway.GetAsync("/profile", agent);
        using var otherAgent = await _gateway.GetAsync("/invoices/7", Mint(Actor("other-agent")));
        using var inPerson = await _gateway.GetAsync("/profile", Mint(act: null));

        Assert.Equal(HttpStatusCode.OK, invoices.StatusCode);
        Assert.Equal(1, forwarded);
        Assert.Equal(HttpStatusCode.Forbidden, profile.StatusCode);
        Assert.Equal("policy.no_allow_match", Assert.Single(profile.Headers.GetValues(DenialWriter.ReasonHeader)));
        Assert.Equal(HttpStatusCode.Forbidden, otherAgent.StatusCode);
        Assert.Equal(HttpStatusCode.OK, inPerson.StatusCode);
        Assert.Equal(2, _gateway.Upstream.Received.Count);
        Assert.Equal("/profile", _gateway.Upstream.Last().Path);
    }

    [Fact]
    public async Task ChainDeeperThanTheRouteAllows_Is403_AndAudited()
    {
        using var response = await _gateway.GetAsync("/invoices/7", Mint(Actor("billing-agent", Actor("planner"))));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("token.delegation_too_deep:depth_2_exceeds_1", Assert.Single(response.Headers.GetValues(DenialWriter.ReasonHeader)));
        Assert.Contains("insufficient_scope", Assert.Single(response.Headers.WwwAuthenticate).Parameter, StringComparison.Ordinal);
        Assert.Empty(_gateway.Upstream.Received);

        var record = await _audit.WaitForAsync(r => r.GetProperty("path").GetString() == "/invoices/7");
        Assert.Equal("deny", record.GetProperty("decision").GetString());
        Assert.Equal("token.delegation_too_deep:depth_2_exceeds_1", record.GetProperty("reasons")[0].GetString());
        var actors = record.GetProperty("actors");
        Assert.Equal("billing-agent", actors[0].GetProperty("sub").GetString());
        Assert.Equal("planner", actors[1].GetProperty("sub").GetString());
        Assert.Equal("alice", record.GetProperty("subject").GetString());
    }

    [Fact]
    public async Task MalformedAct_Is401InvalidToken()
    {
        using var response = await _gateway.GetAsync("/invoices/7", Mint(new Dictionary<string, object> { ["sub"] = 42 }));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("token.act_invalid:act.sub:not_a_string", Assert.Single(response.Headers.GetValues(DenialWriter.ReasonHeader)));
        Assert.Contains("error=\"invalid_token\"", Assert.Single(response.Headers.WwwAuthenticate).Parameter, StringComparison.Ordinal);
        Assert.Empty(_gateway.Upstream.Received);
    }

    private sealed class RecordingSink : IAuditSink
    {
        private readonly ConcurrentQueue<JsonElement> _records = new();
        private readonly SemaphoreSlim _written = new(0);

        public string Name => "recording";

        public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> predicate)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                foreach (var record in _records)
                {
                    if (predicate(record))
                    {
                        return record;
                    }
                }

                await _written.WaitAsync(timeout.Token);
            }
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
        {
            _records.Enqueue(JsonDocument.Parse(Encoding.UTF8.GetString(line.Span)).RootElement.Clone());
            _written.Release();
            return ValueTask.CompletedTask;
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
