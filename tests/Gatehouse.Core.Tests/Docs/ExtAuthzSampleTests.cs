using System.Text.RegularExpressions;
using Gatehouse.Configuration;
using Gatehouse.Tests.Audit;

namespace Gatehouse.Tests.Docs;

/// <summary>
/// The ext_authz deployment samples work together: what Envoy, Istio and Consul are told to call is what the sample
/// Gatehouse config listens for. Envoy's HTTP service prepends its <c>path_prefix</c> to the original path, so a
/// Gatehouse listener without the same <c>ext_authz.path_prefix</c> would decide on <c>/check/orders/…</c> and
/// match no route.
/// </summary>
public sealed partial class ExtAuthzSampleTests
{
    [GeneratedRegex(@"^\s*(?:path_prefix|pathPrefix):\s*(\S+)", RegexOptions.Multiline)]
    private static partial Regex PathPrefix();

    private static GatehouseConfig SampleConfig()
    {
        var result = ConfigLoader.LoadFile(RepoPaths.Of("samples", "ext-authz", "gatehouse.yaml"), new Dictionary<string, string>());
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return result.Config!;
    }

    [Theory]
    [InlineData("envoy/envoy-http.yaml")]
    [InlineData("istio/mesh-config.yaml")]
    public void HttpServicePathPrefix_MatchesTheGatehouseListener(string sample)
    {
        var listener = Assert.Single(SampleConfig().Listeners, l => l.Mode == ListenerMode.ExtAuthzHttp);
        var prefixes = PathPrefix().Matches(File.ReadAllText(RepoPaths.Of(["samples", "ext-authz", .. sample.Split('/')]))).Select(m => m.Groups[1].Value).ToList();

        Assert.NotEmpty(prefixes);
        Assert.All(prefixes, p => Assert.Equal(p, listener.ExtAuthz.PathPrefix));
    }

    [Theory]
    [InlineData("envoy/envoy-http.yaml")]
    [InlineData("istio/mesh-config.yaml")]
    public void HttpServiceForwardingClientCert_IsTrustedByTheGatehouseListener(string sample)
    {
        // Envoy sends no peer certificate to an HTTP service: the samples forward the verified peer as XFCC, which
        // Gatehouse ignores unless the listener trusts it (then it must be reachable only from the mesh's proxies).
        var listener = Assert.Single(SampleConfig().Listeners, l => l.Mode == ListenerMode.ExtAuthzHttp);
        var text = File.ReadAllText(RepoPaths.Of(["samples", "ext-authz", .. sample.Split('/')]));

        Assert.Contains("x-forwarded-client-cert", text, StringComparison.Ordinal);
        Assert.True(listener.TrustForwardedClientCert);
    }

    [Fact]
    public void Ports_MatchTheGatehouseListeners()
    {
        var config = SampleConfig();
        var grpc = Assert.Single(config.Listeners, l => l.Mode == ListenerMode.ExtAuthzGrpc).Address.Split(':')[^1];
        var http = Assert.Single(config.Listeners, l => l.Mode == ListenerMode.ExtAuthzHttp).Address.Split(':')[^1];

        Assert.Contains("port_value: " + grpc, File.ReadAllText(RepoPaths.Of("samples", "ext-authz", "envoy", "envoy-grpc.yaml")), StringComparison.Ordinal);
        Assert.Contains("gatehouse:" + http, File.ReadAllText(RepoPaths.Of("samples", "ext-authz", "envoy", "envoy-http.yaml")), StringComparison.Ordinal);
        var mesh = File.ReadAllText(RepoPaths.Of("samples", "ext-authz", "istio", "mesh-config.yaml"));
        Assert.Contains("port: " + grpc, mesh, StringComparison.Ordinal);
        Assert.Contains("port: " + http, mesh, StringComparison.Ordinal);
    }
}
