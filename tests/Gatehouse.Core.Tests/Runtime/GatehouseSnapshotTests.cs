using Gatehouse.Configuration;
using Gatehouse.Runtime;
using Gatehouse.Tests.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Tests.Runtime;

/// <summary>A decision names its route; a forwarding host resolves the name on the snapshot it decided on.</summary>
public sealed class GatehouseSnapshotTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Route_ResolvesEachRouteByName_NullOtherwise()
    {
        var snapshot = Compile("""
            version: 1
            listeners:
              - { name: edge, mode: gateway, address: 127.0.0.1:0 }
            routes:
              - { name: orders, upstream: http://127.0.0.1:5001, authentication: { require_token: false } }
              - { name: payments, upstream: http://127.0.0.1:5002, authentication: { require_token: false } }
            """);

        Assert.Same(snapshot.Routes[0], snapshot.Route("orders"));
        Assert.Same(snapshot.Routes[1], snapshot.Route("payments"));
        Assert.Same(snapshot.Route("orders"), snapshot.Route("orders"));
        Assert.Null(snapshot.Route("Orders"));
        Assert.Null(snapshot.Route("unknown"));
        Assert.Null(snapshot.Route(null));
    }

    private GatehouseSnapshot Compile(string yaml)
    {
        var load = ConfigLoader.LoadYaml(yaml, "snapshot.yaml", _files.Directory, new Dictionary<string, string>());
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        using var http = new HttpClient();
        return new SnapshotCompiler(http, TimeProvider.System, NullLoggerFactory.Instance).Compile(load.Config!, null).Snapshot;
    }
}
