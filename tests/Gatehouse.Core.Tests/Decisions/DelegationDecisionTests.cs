using Gatehouse.Model;
using System.Text.Json.Nodes;
using Gatehouse.Audit;
using Gatehouse.Decisions;
using Gatehouse.Tests.Review;
using Gatehouse.Tests.Tokens;

namespace Gatehouse.Tests.Decisions;

/// <summary>
/// Delegation chains (RFC 8693 §4.1) through the one decision path: malformed <c>act</c>, the route's
/// <c>max_delegation_depth</c>, actor policies, and the chain in the decision (audit, explain, ext_authz read it there).
/// </summary>
public sealed class DelegationDecisionTests : IAsyncLifetime
{
    private ReviewEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await ReviewEngine.CreateAsync(
        routes: """
              - name: billing
                match: { path_prefix: / }
                upstream: http://127.0.0.1:9
                authentication: { issuers: [corp], max_delegation_depth: 1 }
                policies: [customers-and-billing-agent]
              - name: direct-only
                match: { path_prefix: /direct }
                upstream: http://127.0.0.1:9
                authentication: { issuers: [corp], max_delegation_depth: 0 }
              - name: chains
                match: { path_prefix: /chains }
                upstream: http://127.0.0.1:9
                authentication: { issuers: [corp] }
            """,
        policies: """
              customers-and-billing-agent:
                action: allow
                rules:
                  - when: { roles: [customer], not_actors: ["*"] }
                  - to: { paths: ["/invoices", "/invoices/*"] }
                    when: { roles: [customer], actor: [billing-agent] }
            """);

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private static string Token(JsonNode? act, bool customer = true)
    {
        var claims = ReviewEngine.Claims();
        if (customer)
        {
            claims["roles"] = new JsonArray("customer");
        }

        if (act is not null)
        {
            claims["act"] = act;
        }

        return ReviewEngine.Corp(claims);
    }

    private static JsonObject Act(string sub, JsonObject? inner = null)
    {
        var act = new JsonObject { ["sub"] = sub };
        if (inner is not null)
        {
            act["act"] = inner;
        }

        return act;
    }

    private Task<Decision> Decide(string path, string token) => _engine.DecideAsync(ReviewEngine.Request(path, token: token)).AsTask();

    [Fact]
    public async Task Billing_agent_acting_for_a_customer_gets_invoices_only()
    {
        var agent = Token(Act("billing-agent"));

        var invoices = await Decide("/invoices/7", agent);
        var profile = await Decide("/profile", agent);
        var inPerson = await Decide("/profile", Token(act: null));
        var otherAgent = await Decide("/invoices/7", Token(Act("other-agent")));

        Assert.True(invoices.Allowed);
        Assert.Equal("policy.allow_matched:customers-and-billing-agent/rule1", invoices.Reasons[0]);
        Assert.Equal("billing-agent", invoices.Principal!.Delegation.Current!.Subject);
        Assert.Equal(403, profile.StatusCode);
        Assert.Equal(ReasonCodes.PolicyNoAllowMatch, profile.Reasons[0]);
        Assert.True(inPerson.Allowed);
        Assert.Equal(403, otherAgent.StatusCode);
    }

    [Fact]
    public async Task Chain_deeper_than_the_route_allows_is_403_delegation_too_deep()
    {
        var decision = await Decide("/invoices/7", Token(Act("billing-agent", Act("planner"))));

        Assert.Equal(403, decision.StatusCode);
        Assert.Equal("token.delegation_too_deep:depth_2_exceeds_1", decision.Reasons[0]);
        Assert.Contains("error=\"insufficient_scope\"", decision.Challenge, StringComparison.Ordinal);
        Assert.Contains("token.delegation_too_deep", decision.Challenge, StringComparison.Ordinal);
        Assert.Equal(2, decision.Principal!.Delegation.Depth); // recorded, so the audit shows who tried
    }

    [Fact]
    public async Task Depth_zero_refuses_any_delegation_but_not_the_subject_in_person()
    {
        Assert.Equal("token.delegation_too_deep:depth_1_exceeds_0", (await Decide("/direct/x", Token(Act("billing-agent")))).Reasons[0]);
        Assert.True((await Decide("/direct/x", Token(act: null))).Allowed);
    }

    [Fact]
    public async Task Default_bound_accepts_sixteen_actors_and_refuses_seventeen()
    {
        JsonObject? Chain(int depth)
        {
            JsonObject? act = null;
            for (var i = depth; i >= 1; i--)
            {
                act = Act($"actor-{i}", act);
            }

            return act;
        }

        var sixteen = await Decide("/chains/x", Token(Chain(16)));
        var seventeen = await Decide("/chains/x", Token(Chain(17)));

        Assert.True(sixteen.Allowed, string.Join(",", sixteen.Reasons));
        Assert.Equal(16, sixteen.Principal!.Actors.Count);
        Assert.Equal(403, seventeen.StatusCode);
        Assert.Equal("token.delegation_too_deep:depth_over_16", seventeen.Reasons[0]);
    }

    [Theory]
    [InlineData("\"billing-agent\"", "token.act_invalid:act:not_an_object")]
    [InlineData("{\"sub\":\"billing-agent\",\"act\":[\"planner\"]}", "token.act_invalid:act.act:not_an_object")]
    [InlineData("{\"iss\":\"https://sts/\"}", "token.act_invalid:act:no_sub_or_client_id")]
    [InlineData("{\"sub\":7}", "token.act_invalid:act.sub:not_a_string")]
    public async Task Malformed_act_is_401_invalid_token_with_a_precise_reason(string act, string reason)
    {
        var decision = await Decide("/invoices/7", Token(JsonNode.Parse(act)));

        Assert.Equal(401, decision.StatusCode);
        Assert.Equal(reason, decision.Reasons[0]);
        Assert.Contains("error=\"invalid_token\"", decision.Challenge, StringComparison.Ordinal);
        Assert.Contains("error_description=\"token.act_invalid\"", decision.Challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_record_carries_the_chain_current_actor_first()
    {
        var request = ReviewEngine.Request("/invoices/7", token: Token(new JsonObject
        {
            ["sub"] = "billing-agent",
            ["client_id"] = "agent-app",
            ["act"] = new JsonObject { ["sub"] = "planner" },
        }));
        var decision = await _engine.DecideAsync(request);

        var record = AuditRecord.Create(decision, request, TimeSpan.FromMilliseconds(1), DateTimeOffset.UnixEpoch, includeQuery: false);
        var json = JsonNode.Parse(record.ToJson())!;

        Assert.Equal(403, decision.StatusCode); // two actors on a max_delegation_depth: 1 route
        Assert.Equal("""[{"sub":"billing-agent","client_id":"agent-app"},{"sub":"planner"}]""", json["actors"]!.ToJsonString());
    }

    [Fact]
    public async Task Audit_record_without_delegation_has_no_actors_field()
    {
        var request = ReviewEngine.Request("/profile", token: Token(act: null));
        var decision = await _engine.DecideAsync(request);

        var json = JsonNode.Parse(AuditRecord.Create(decision, request, TimeSpan.Zero, DateTimeOffset.UnixEpoch, includeQuery: false).ToJson())!.AsObject();

        Assert.False(json.ContainsKey("actors"));
    }
}
