using Gatehouse.Configuration;
using Gatehouse.Policy;
using static Gatehouse.Tests.Policy.PolicyFixtures;

namespace Gatehouse.Tests.Policy;

/// <summary><c>when.actor</c> / <c>when.actors</c> and their <c>not_</c> forms (RFC 8693 §4.1 delegation).</summary>
public sealed class DelegationConditionTests
{
    private const string Direct = """{"sub":"alice"}""";
    private const string ByAgent = """{"sub":"alice","act":{"sub":"billing-agent"}}""";
    private const string ByAgentClient = """{"sub":"alice","act":{"client_id":"agent-app-7"}}""";
    private const string ByAgentForPlanner = """{"sub":"alice","act":{"sub":"billing-agent","act":{"sub":"planner","client_id":"planner-app"}}}""";

    public sealed record Case(string Name, WhenConditionConfig When, string Claims, bool Matches)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases => new()
    {
        // when.actor: the current actor only
        new("actor: current actor by sub", When("actor", "billing-agent"), ByAgent, true),
        new("actor: current actor by client_id", When("actor", "agent-app-7"), ByAgentClient, true),
        new("actor: another actor", When("actor", "planner"), ByAgent, false),
        new("actor: a prior actor is not the current one", When("actor", "planner"), ByAgentForPlanner, false),
        new("actor: no delegation → no match", When("actor", "*"), Direct, false),
        new("actor: presence glob", When("actor", "*"), ByAgent, true),
        new("actor: prefix glob", When("actor", "billing-*"), ByAgent, true),
        new("actor: case-sensitive", When("actor", "Billing-Agent"), ByAgent, false),
        // when.actors: anyone in the chain
        new("actors: current actor", When("actors", "billing-agent"), ByAgentForPlanner, true),
        new("actors: prior actor by sub", When("actors", "planner"), ByAgentForPlanner, true),
        new("actors: prior actor by client_id", When("actors", "planner-app"), ByAgentForPlanner, true),
        new("actors: nobody of that name", When("actors", "mallory"), ByAgentForPlanner, false),
        new("actors: no delegation → no match", When("actors", "*"), Direct, false),
        // not_ forms: none-of; a token without act has no actor, so they hold
        new("not_actor: other current actor", WhenNot("actor", "mallory"), ByAgent, true),
        new("not_actor: that current actor", WhenNot("actor", "billing-agent"), ByAgent, false),
        new("not_actor: prior actor does not count", WhenNot("actor", "planner"), ByAgentForPlanner, true),
        new("not_actor: no delegation", WhenNot("actor", "billing-agent"), Direct, true),
        new("not_actors: anyone in the chain counts", WhenNot("actors", "planner"), ByAgentForPlanner, false),
        new("not_actors *: only the subject in person", WhenNot("actors", "*"), Direct, true),
        new("not_actors *: refuses any delegation", WhenNot("actors", "*"), ByAgent, false),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Condition_matches_the_chain(Case c)
    {
        var set = CompiledPolicySet.Compile([MakePolicy("p", PolicyAction.Allow, Rule(when: c.When))]);

        var result = set.Evaluate(Input(claims: c.Claims), trace: false);

        Assert.Equal(c.Matches, result.Allowed);
    }

    [Fact]
    public void Anonymous_request_has_no_actor()
    {
        var set = CompiledPolicySet.Compile([MakePolicy("p", PolicyAction.Allow, Rule(when: When("actors", "*")))]);
        Assert.False(set.Evaluate(Input(token: false), trace: false).Allowed);
    }

    [Fact]
    public void Not_prefix_on_the_key_is_the_negated_form()
    {
        // The binder turns `not_actors:` into Negated; a key written with the prefix compiles the same way.
        var set = CompiledPolicySet.Compile([MakePolicy("p", PolicyAction.Allow, Rule(when: When("not_actors", "*")))]);
        Assert.True(set.Evaluate(Input(claims: Direct), trace: false).Allowed);
        Assert.False(set.Evaluate(Input(claims: ByAgent), trace: false).Allowed);
    }

    [Fact]
    public void Trace_shows_the_observed_chain()
    {
        var set = CompiledPolicySet.Compile([MakePolicy("p", PolicyAction.Allow,
            Rule(when: When("actor", "planner")),
            Rule(when: When("actors", "mallory")))]);

        var result = set.Evaluate(Input(claims: ByAgentForPlanner), trace: true);

        Assert.False(result.Allowed);
        var details = string.Join("\n", result.Trace.Select(t => t.Detail));
        Assert.Contains("when.actor any of [planner]: got 'billing-agent'", details, StringComparison.Ordinal);
        Assert.Contains("when.actors any of [mallory]: got ['billing-agent', 'planner' (client_id 'planner-app')]", details, StringComparison.Ordinal);
    }

    [Fact]
    public void Billing_agent_may_act_for_a_customer_only_on_invoices()
    {
        var policy = MakePolicy("customers-and-billing-agent", PolicyAction.Allow,
            Rule(when: [When("roles", "customer"), WhenNot("actors", "*")]),
            Rule(to: new ToConfig { Paths = ["/invoices", "/invoices/*"] }, when: [When("roles", "customer"), When("actor", "billing-agent")]));
        var set = CompiledPolicySet.Compile([policy]);
        bool Allowed(string path, string claims) => set.Evaluate(Input(path: path, roles: ["customer"], claims: claims), trace: false).Allowed;

        Assert.True(Allowed("/profile", Direct));                   // the customer in person: anywhere
        Assert.True(Allowed("/invoices/7", ByAgent));               // the agent for the customer: invoices
        Assert.True(Allowed("/invoices", ByAgent));
        Assert.False(Allowed("/profile", ByAgent));                 // …but nothing else
        Assert.False(Allowed("/invoices/7", """{"sub":"alice","act":{"sub":"other-agent"}}"""));
        Assert.False(Allowed("/invoices/7", """{"sub":"alice","act":{"sub":"planner","act":{"sub":"billing-agent"}}}"""));
    }
}
