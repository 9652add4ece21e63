using Gatehouse.Configuration;
using Gatehouse.Routing;

namespace Gatehouse.Tests.Routing;

/// <summary>
/// Route-table rules that survived mutation testing (docs/security.md, "Mutation testing", the routing set): which
/// route wins decides which policy runs, so each rule is pinned here.
/// </summary>
public sealed class RouteTableMutationTests
{
    private static RouteTable<string> Table(params (string[] Hosts, string Prefix, string Name)[] routes) =>
        RouteTable<string>.Build(routes.Select(r => (new RouteMatchConfig { Hosts = r.Hosts, PathPrefix = r.Prefix }, r.Name)));

    [Fact]
    public void SameHostAndPrefix_TheFirstRouteInConfigOrderWins()
    {
        var table = Table((["api.example.com"], "/orders", "first"), (["api.example.com"], "/orders", "second"));

        Assert.Equal("first", table.Match("api.example.com", "/orders/1"));
    }

    [Fact]
    public void LongestPrefix_FallsBackThroughSegmentsNoRouteEndsAt()
    {
        // "/a/b" is only a step towards "/a/b/c": a request under "/a/b/x" belongs to "/a", not to no route.
        var table = Table(([], "/a", "short"), ([], "/a/b/c", "long"));

        Assert.Equal("short", table.Match("any.example.com", "/a/b/x"));
        Assert.Equal("long", table.Match("any.example.com", "/a/b/c/d"));
    }

    [Fact]
    public void SeveralAnyHostRoutes_AllStayReachable()
    {
        var table = Table(([], "/health", "health"), (["*"], "/metrics", "metrics"), ([""], "/ready", "ready"));

        Assert.Equal("health", table.Match("x.example.com", "/health"));
        Assert.Equal("metrics", table.Match("x.example.com", "/metrics"));
        Assert.Equal("ready", table.Match("x.example.com", "/ready"));
    }
}
