using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>Shared fixture: one Kestrel per protocol for the whole case table.</summary>
public sealed class ExtAuthzCaseHostsFixture : IAsyncLifetime
{
    public GrpcDecisionCaseHost Grpc { get; } = new();

    public HttpDecisionCaseHost Http { get; } = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Grpc.DisposeAsync();
        await Http.DisposeAsync();
    }
}

/// <summary>
/// The decision case table through both ext_authz protocols: each case must give the outcome the decision implies
/// and the same outcome in both (issue 7 "one engine"; the gateway joins through <see cref="IDecisionCaseHost"/>).
/// </summary>
public sealed class ExtAuthzDecisionCaseTests(ExtAuthzCaseHostsFixture hosts) : IClassFixture<ExtAuthzCaseHostsFixture>
{
    [Theory]
    [MemberData(nameof(DecisionCaseTable.Names), MemberType = typeof(DecisionCaseTable))]
    public async Task Grpc_MatchesTable(string name) => await DecisionCaseTable.RunAndAssertAsync(hosts.Grpc, DecisionCaseTable.Get(name));

    [Theory]
    [MemberData(nameof(DecisionCaseTable.Names), MemberType = typeof(DecisionCaseTable))]
    public async Task Http_MatchesTable(string name) => await DecisionCaseTable.RunAndAssertAsync(hosts.Http, DecisionCaseTable.Get(name));

    [Theory]
    [MemberData(nameof(DecisionCaseTable.Names), MemberType = typeof(DecisionCaseTable))]
    public async Task GrpcAndHttp_AgreeExactly(string name)
    {
        var decisionCase = DecisionCaseTable.Get(name);
        var grpc = await DecisionCaseTable.RunAndAssertAsync(hosts.Grpc, decisionCase);
        var http = await DecisionCaseTable.RunAndAssertAsync(hosts.Http, decisionCase);
        Assert.True(grpc.SameAs(http), $"gRPC {grpc} vs HTTP {http}");
    }
}
