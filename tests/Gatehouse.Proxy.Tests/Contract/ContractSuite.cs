using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Tests.Contract;

/// <summary>
/// The contract suite (issue 7 item 4, style guide §2.6 "Contract suites"): the same decision case table through
/// every host of one running GatehouseServer, with the real decision engine. Each host must give the table's
/// outcome; <see cref="AllHostsAgreeTests"/> also demands the hosts agree with one another exactly.
/// </summary>
[Collection(ContractCollection.Name)]
public abstract class ContractHostTests
{
    protected ContractHostTests(ContractServerFixture server) => Server = server;

    protected ContractServerFixture Server { get; }

    protected abstract Task<ContractOutcome> SendAsync(ContractCase c);

    [Theory]
    [MemberData(nameof(ContractCases.Names), MemberType = typeof(ContractCases))]
    public async Task Case_GivesTheTableOutcome(string name)
    {
        var c = ContractCases.Get(name);
        var observed = await SendAsync(c);
        AssertMatchesTable(c, observed);
    }

    internal static void AssertMatchesTable(ContractCase c, ContractOutcome observed)
    {
        var context = $"{c.Name}: observed {observed}";
        Assert.True(c.Allowed == observed.Allowed, context);
        Assert.True(c.ExpectedStatus == observed.Status, context);
        if (observed.Reason is not null || !c.Allowed)
        {
            var expected = observed.ReasonIsCodeOnly ? ContractCases.Code(c.ExpectedReason) : c.ExpectedReason;
            Assert.True(expected == observed.Reason, $"{context}; expected reason {expected}");
        }

        switch (c.ExpectedStatus)
        {
            case 401 when c.ExpectedReason == ReasonCodes.TokenMissing || (c.Token == TokenKind.None && c.ExpectedReason.StartsWith("policy.", StringComparison.Ordinal)):
                Assert.True(Challenges.Missing == observed.Challenge, context);
                break;
            case 401:
                Assert.True(observed.Challenge is not null && observed.Challenge.StartsWith("Bearer realm=\"gatehouse\", error=\"invalid_token\"", StringComparison.Ordinal), context);
                break;
            // RFC 6750 §3.1: insufficient_scope only when a scope is what is missing; any other refusal is a plain 403.
            case 403 when c.ExpectedReason.StartsWith(ReasonCodes.ScopeMissing + ":", StringComparison.Ordinal):
                Assert.True(observed.Challenge is not null && observed.Challenge.Contains("error=\"insufficient_scope\"", StringComparison.Ordinal), context);
                Assert.EndsWith($"scope=\"{c.ExpectedReason[(ReasonCodes.ScopeMissing.Length + 1)..]}\"", observed.Challenge);
                break;
            default:
                Assert.True(observed.Challenge is null, context);
                break;
        }
    }
}

public sealed class GatewayContractTests(ContractServerFixture server) : ContractHostTests(server)
{
    protected override async Task<ContractOutcome> SendAsync(ContractCase c)
    {
        var observed = await Server.ViaGatewayAsync(c);
        // The gateway forwards allowed requests with the normalized path, and never forwards a denied one.
        Assert.True(c.ExpectedUpstreamPath == observed.UpstreamPath, $"{c.Name}: upstream received {observed.UpstreamPath ?? "(nothing)"}, expected {c.ExpectedUpstreamPath ?? "(nothing)"}");
        return observed;
    }
}

public sealed class ExtAuthzGrpcContractTests(ContractServerFixture server) : ContractHostTests(server)
{
    protected override Task<ContractOutcome> SendAsync(ContractCase c) => Server.ViaExtAuthzGrpcAsync(c);
}

public sealed class ExtAuthzHttpContractTests(ContractServerFixture server) : ContractHostTests(server)
{
    protected override Task<ContractOutcome> SendAsync(ContractCase c) => Server.ViaExtAuthzHttpAsync(c);
}

/// <summary>Identical outcomes across the three hosts: allow/deny, HTTP status, first reason (code), challenge.</summary>
[Collection(ContractCollection.Name)]
public sealed class AllHostsAgreeTests(ContractServerFixture server)
{
    [Theory]
    [MemberData(nameof(ContractCases.Names), MemberType = typeof(ContractCases))]
    public async Task GatewayGrpcAndHttp_GiveIdenticalOutcomes(string name)
    {
        var c = ContractCases.Get(name);
        var gateway = await server.ViaGatewayAsync(c);
        var grpc = await server.ViaExtAuthzGrpcAsync(c);
        var http = await server.ViaExtAuthzHttpAsync(c);
        var summary = $"{name}: gateway {gateway} | grpc {grpc} | http {http}";

        Assert.True(gateway.Allowed == grpc.Allowed && grpc.Allowed == http.Allowed, summary);
        Assert.True(gateway.Status == grpc.Status && grpc.Status == http.Status, summary);
        Assert.True(gateway.Challenge == grpc.Challenge && grpc.Challenge == http.Challenge, summary);
        if (!gateway.Allowed)
        {
            // Full first reason: gateway header vs gRPC status message; the HTTP body carries the code only.
            Assert.True(gateway.Reason == grpc.Reason, summary);
            Assert.True(ContractCases.Code(grpc.Reason) == http.Reason, summary);
        }
    }
}
