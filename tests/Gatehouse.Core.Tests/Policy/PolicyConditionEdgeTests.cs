using Gatehouse.Configuration;
using Gatehouse.Model;
using Gatehouse.Policy;
using static Gatehouse.Tests.Policy.PolicyFixtures;

namespace Gatehouse.Tests.Policy;

/// <summary>
/// Policy conditions that survived mutation testing (docs/security.md, "Mutation testing", the policy set): the
/// negated forms of ports, namespaces, IP blocks and request principals, request-principal patterns as istiod reads
/// them, the first port of a list, the port range, a namespace rule without a workload, and claims that are numbers
/// or booleans.
/// </summary>
public sealed class PolicyConditionEdgeTests
{
    private static bool Allows(PolicyRuleConfig rule, PolicyInput input) =>
        CompiledPolicySet.Compile([MakePolicy("p", PolicyAction.Allow, rule)]).Evaluate(input).Allowed;

    [Fact]
    public void EveryNegatedSourceAndPortForm_ExcludesWhatItNames()
    {
        // Each not_ field on its own: the request it names is refused, another one is allowed.
        Assert.False(Allows(Rule(from: new FromConfig { NotNamespaces = ["shop"] }), Input(workload: Checkout)));
        Assert.True(Allows(Rule(from: new FromConfig { NotNamespaces = ["shop"] }), Input(workload: Billing)));
        Assert.False(Allows(Rule(from: new FromConfig { NotIpBlocks = ["10.0.0.0/8"] }), Input(ip: "10.1.2.3")));
        Assert.True(Allows(Rule(from: new FromConfig { NotIpBlocks = ["10.0.0.0/8"] }), Input(ip: "192.0.2.1")));
        Assert.False(Allows(Rule(to: new ToConfig { NotPorts = ["443"] }), Input(port: 443)));
        Assert.True(Allows(Rule(to: new ToConfig { NotPorts = ["443"] }), Input(port: 8443)));
        Assert.False(Allows(Rule(from: new FromConfig { NotRequestPrincipals = ["https://idp.example.com//alice"] }), Input()));
        Assert.True(Allows(Rule(from: new FromConfig { NotRequestPrincipals = ["https://idp.example.com//bob"] }), Input()));
    }

    [Theory]
    [InlineData("https://idp.example.com//alice", true)]
    [InlineData("https://other.example.com//alice", false)]  // same subject, another issuer
    [InlineData("https://idp.example.com//bob", false)]      // same issuer, another subject
    [InlineData("*", true)]
    [InlineData("*/alice", true)]
    [InlineData("*/bob", false)]
    [InlineData("*example.com//alice", true)]
    [InlineData("*other.com//alice", false)]
    [InlineData("*lice", true)]
    [InlineData("*bob", false)]
    [InlineData("https://idp.example.com//*", true)]
    [InlineData("https://other.example.com//*", false)]
    [InlineData("https://idp.example.com//al*", true)]
    [InlineData("https://idp.example.com//bo*", false)]
    [InlineData("https://idp.example.com/*", false)]     // issuer "https://idp.example.com": the part before the last '/'
    [InlineData("https://other*", false)]
    public void RequestPrincipals_MatchIssuerAndSubjectTogether_AsIstiodDoes(string pattern, bool matches)
    {
        // Principal: iss "https://idp.example.com/", sub "alice"; "iss/sub" splits at the last '/'.
        Assert.Equal(matches, Allows(Rule(from: new FromConfig { RequestPrincipals = [pattern] }), Input()));
    }

    [Fact]
    public void AnyPart_NeedsANonEmptyValue()
    {
        var input = Input();
        var emptySubject = new PolicyInput(input.Request, input.NormalizedPath, new Principal { Issuer = "https://idp.example.com/", Subject = "", Workload = Checkout });

        Assert.False(Allows(Rule(from: new FromConfig { RequestPrincipals = ["*"] }), emptySubject));
        Assert.False(Allows(Rule(from: new FromConfig { RequestPrincipals = ["https://idp.example.com//*"] }), emptySubject));
    }

    [Theory]
    [InlineData(8443, true)]
    [InlineData(443, true)]
    [InlineData(80, false)]
    public void EveryPortInTheList_Matches_TheFirstOneToo(int port, bool matches)
    {
        Assert.Equal(matches, Allows(Rule(to: new ToConfig { Ports = ["8443", "443"] }), Input(port: port)));
    }

    [Theory]
    [InlineData("1", 1, true)]
    [InlineData("65535", 65535, true)]
    [InlineData("0", 0, false)]
    [InlineData("65536", 0, false)]
    public void PortValues_Are1To65535_AndAnythingElseFailsClosed(string value, int port, bool matches)
    {
        Assert.Equal(matches, Allows(Rule(to: new ToConfig { Ports = [value] }), Input(port: port)));
    }

    [Fact]
    public void ANamespaceRule_WithoutAWorkload_MatchesNothing_AndRefusesNothing()
    {
        Assert.False(Allows(Rule(from: new FromConfig { Namespaces = ["shop"] }), Input(workload: null)));
        Assert.True(Allows(Rule(from: new FromConfig { NotNamespaces = ["shop"] }), Input(workload: null)));
        Assert.False(Allows(Rule(from: new FromConfig { Namespaces = ["shop"] }), Input(workload: "spiffe://cluster.local/sa/checkout")));
    }

    [Theory]
    [InlineData("""{"level":5}""", "5", true)]
    [InlineData("""{"level":50}""", "5*", true)]
    [InlineData("""{"level":50}""", "5", false)]
    [InlineData("""{"level":[1,5]}""", "5", true)]
    [InlineData("""{"level":true}""", "true", true)]
    [InlineData("""{"level":true}""", "t*", true)]
    [InlineData("""{"level":false}""", "true", false)]
    public void NumberAndBooleanClaims_MatchByTheirJsonText(string claims, string value, bool matches)
    {
        Assert.Equal(matches, Allows(Rule(when: When("claims.level", value)), Input(claims: claims)));
    }
}
