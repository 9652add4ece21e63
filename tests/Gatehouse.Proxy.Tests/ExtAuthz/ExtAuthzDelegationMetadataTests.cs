using Gatehouse.Model;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Identity;
using Gatehouse.Identity.Profiles;
using Gatehouse.Proxy.ExtAuthz;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>The delegation chain (RFC 8693 §4.1) of the decision's principal reaches Envoy's dynamic metadata.</summary>
public sealed class ExtAuthzDelegationMetadataTests
{
    private static Decision DecisionFor(string claims, bool allowed) => new()
    {
        Outcome = allowed ? DecisionOutcome.Allow : DecisionOutcome.Deny,
        StatusCode = allowed ? 200 : 403,
        Reasons = [allowed ? "policy.allow_matched:p/rule0" : "token.delegation_too_deep:depth_2_exceeds_1"],
        Principal = ClaimProfiles.CreatePrincipal(JsonDocument.Parse(claims).RootElement, new IssuerConfig { Name = "corp", Issuer = "https://idp/" }, workload: null),
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Chain_is_in_dynamic_metadata_current_actor_first(bool allowed)
    {
        var decision = DecisionFor("""{"sub":"alice","act":{"client_id":"billing-agent","act":{"sub":"planner"}}}""", allowed);

        var metadata = CheckResponseBuilder.Build(decision, new ExtAuthzOptions()).DynamicMetadata.Fields;

        Assert.Equal("billing-agent", metadata["gatehouse_actor"].StringValue);
        Assert.Equal(["billing-agent", "planner"], metadata["gatehouse_actors"].ListValue.Values.Select(v => v.StringValue));
    }

    [Fact]
    public void No_delegation_no_actor_metadata()
    {
        var metadata = CheckResponseBuilder.Build(DecisionFor("""{"sub":"alice"}""", allowed: true), new ExtAuthzOptions()).DynamicMetadata.Fields;

        Assert.False(metadata.ContainsKey("gatehouse_actor"));
        Assert.False(metadata.ContainsKey("gatehouse_actors"));
        Assert.Equal(ActorChain.None, DecisionFor("""{"sub":"alice"}""", true).Principal!.Delegation);
    }
}
