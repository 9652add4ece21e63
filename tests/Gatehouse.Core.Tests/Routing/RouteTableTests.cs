using Gatehouse.Configuration;
using Gatehouse.Routing;

namespace Gatehouse.Tests.Routing;

public sealed class RouteTableTests
{
    private static RouteTable<string> Table(params (string[] Hosts, string Prefix, string Name)[] routes) =>
        RouteTable<string>.Build(routes.Select(r => (new RouteMatchConfig { Hosts = r.Hosts, PathPrefix = r.Prefix }, r.Name)));

    private static readonly RouteTable<string> Sample = Table(
        ([], "/", "catch-all"),
        (["api.example.com"], "/orders", "orders"),
        (["api.example.com"], "/orders/admin/", "orders-admin"),
        (["api.example.com"], "/orders", "orders-duplicate"),
        (["*.example.com"], "/", "wildcard"),
        (["*.internal.example.com"], "/", "internal-wildcard"),
        (["API.Other.com"], "/v1", "other"));

    public static TheoryData<string, string, string, string?> Cases => new()
    {
        { "exact host, prefix equal", "api.example.com", "/orders", "orders" },
        { "exact host, prefix with trailing slash", "api.example.com", "/orders/", "orders" },
        { "exact host, below prefix", "api.example.com", "/orders/42", "orders" },
        { "segment aware: /ordersx is not /orders", "api.example.com", "/ordersx", "wildcard" },
        { "longest prefix wins", "api.example.com", "/orders/admin/users", "orders-admin" },
        { "prefix trailing slash ignored", "api.example.com", "/orders/admin", "orders-admin" },
        { "exact host without path match falls to wildcard", "api.example.com", "/", "wildcard" },
        { "wildcard host", "shop.example.com", "/x", "wildcard" },
        { "wildcard host, multi-label", "a.b.example.com", "/x", "wildcard" },
        { "longer wildcard suffix wins", "db.internal.example.com", "/x", "internal-wildcard" },
        { "wildcard does not match the bare domain", "example.com", "/x", "catch-all" },
        { "host case-insensitive", "API.EXAMPLE.COM", "/orders", "orders" },
        { "config host case-insensitive", "api.other.com", "/v1/x", "other" },
        { "trailing dot in host", "api.example.com.", "/orders", "orders" },
        { "unknown host → any-host route", "unknown.test", "/anything", "catch-all" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches(string name, string host, string path, string? expected) =>
        Assert.True(expected == Sample.Match(host, path), $"{name}: got {Sample.Match(host, path)}");

    [Fact]
    public void Returns_null_when_nothing_matches()
    {
        var table = Table((["api.example.com"], "/orders", "orders"));
        Assert.Null(table.Match("api.example.com", "/users"));
        Assert.Null(table.Match("other.example.com", "/orders"));
    }

    [Fact]
    public void Ties_resolve_to_config_order()
    {
        Assert.Equal("orders", Sample.Match("api.example.com", "/orders/1"));
    }

    [Fact]
    public void Star_host_is_any_host()
    {
        var table = Table((["*"], "/health", "health"));
        Assert.Equal("health", table.Match("whatever", "/health"));
    }

    [Fact]
    public void Scales_to_ten_thousand_routes()
    {
        var routes = Enumerable.Range(0, 10_000)
            .Select(i => (new[] { $"svc{i % 100}.example.com" }, $"/api/v{i / 100}/items", $"r{i}"))
            .ToArray();
        var table = Table(routes);
        Assert.Equal("r5042", table.Match("svc42.example.com", "/api/v50/items/7"));
        Assert.Null(table.Match("svc42.example.com", "/api/v50/other"));
    }

    [Fact]
    public void Match_is_allocation_free()
    {
        Sample.Match("db.internal.example.com", "/orders/admin/users");
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Sample.Match("db.internal.example.com", "/orders/admin/users");
            Sample.Match("api.example.com", "/orders/admin/users");
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
