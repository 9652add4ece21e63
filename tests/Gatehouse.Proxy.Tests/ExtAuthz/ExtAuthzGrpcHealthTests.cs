using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// grpc.health.v1.Health on ext_authz gRPC listeners follows readiness: NOT_SERVING while the engine cannot decide
/// (keys not loaded, or past max_stale), SERVING otherwise — Check at once, Watch within its refresh period.
/// </summary>
public sealed class ExtAuthzGrpcHealthTests
{
    [Fact]
    public async Task Check_And_Watch_FollowReadiness()
    {
        string? notReady = "issuer corp: keys not loaded";
        var decider = new ScriptedDecider(ScriptedDecider.Allow());
        await using var server = await ExtAuthzServer.StartGrpcAsync(decider.Decide, notReady: () => Volatile.Read(ref notReady));
        using var channel = GrpcChannel.ForAddress(server.BaseAddress);
        var health = new Health.HealthClient(channel);

        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest(), deadline: Deadline())).Status);
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = "envoy.service.auth.v3.Authorization" }, deadline: Deadline())).Status);

        using var watch = health.Watch(new HealthCheckRequest(), deadline: Deadline());
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);

        Volatile.Write(ref notReady, null);

        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), deadline: Deadline())).Status);
        // The stream sends the change (HealthWatchPeriod is 2 s); the 10 s deadline bounds the wait.
        var status = ServingStatus.NotServing;
        while (status != ServingStatus.Serving && await watch.ResponseStream.MoveNext())
        {
            status = watch.ResponseStream.Current.Status;
        }

        Assert.Equal(ServingStatus.Serving, status);

        Volatile.Write(ref notReady, "issuer corp: keys older than max_stale");
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest(), deadline: Deadline())).Status);
    }

    [Fact]
    public async Task GatehouseWhoseIssuerKeysNeverLoaded_IsNotServing_WhileTheAdminReadyzAgrees()
    {
        var directory = Gatehouse.Testing.TestTemp.CreateDirectory("grpc-health-");
        var path = Path.Combine(directory, "gatehouse.yaml");
        // Nothing listens on port 1: the JWKS fetch fails, so the issuer never has keys.
        await File.WriteAllTextAsync(path, """
            version: 1
            issuers:
              corp: { issuer: "https://idp.test.example/", jwks_uri: "http://127.0.0.1:1/jwks", audiences: [orders] }
            listeners:
              - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0" }
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
            routes:
              - { name: orders, match: { path_prefix: /orders }, authentication: { issuers: [corp] } }
            policies: {}
            """);
        var load = ConfigLoader.LoadFile(path);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        await using var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            WatchForChanges = false,
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        });
        using var channel = GrpcChannel.ForAddress(server.GetListenerUri("grpc"));
        using var admin = new HttpClient { BaseAddress = server.GetListenerUri("admin") };

        var status = (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: Deadline())).Status;
        using var readyz = await admin.GetAsync("/readyz");

        Assert.Equal(ServingStatus.NotServing, status);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, readyz.StatusCode);
    }

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(10);
}
