using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary><c>tls.trust_bundles</c>: a file or a federation bundle endpoint per trust domain, through binder, effective config and reload rules.</summary>
public sealed class TrustBundleConfigTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private GatehouseConfig Load(string bundles)
    {
        var yaml = $"""
            version: 1
            listeners:
              - name: inbound
                mode: inbound
                address: 127.0.0.1:8443
                tls:
                  certificate: cert.pem
                  key: key.pem
                  client_certificate: require
                  trust_bundles:
            {bundles}
            routes:
              - name: app
                upstream: http://127.0.0.1:5001
                authentication: {"{"} require_token: false {"}"}
            """;
        var result = ConfigLoader.LoadYaml(yaml, "test.yaml", _files.Directory, new Dictionary<string, string>());
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    [Fact]
    public void File_and_endpoint_forms_bind_side_by_side_with_defaults()
    {
        var tls = Load("""
                    east.example: bundle.pem
                    west.example:
                      endpoint: https://spire.west.example:8443/bundle
                      max_stale: 2h
                      endpoint_ca: ca.pem
            """).Listeners[0].Tls!;

        Assert.Equal(_files.Path("bundle.pem"), tls.TrustBundles["east.example"]);
        var west = tls.TrustBundleEndpoints["west.example"];
        Assert.Equal("https://spire.west.example:8443/bundle", west.Endpoint);
        Assert.Equal(TimeSpan.FromMinutes(5), west.RefreshInterval);
        Assert.Equal(TimeSpan.FromHours(2), west.MaxStale);
        Assert.Equal(TimeSpan.FromSeconds(5), west.FetchTimeout);
        Assert.Equal(_files.Path("ca.pem"), west.EndpointCa);
        Assert.False(tls.TrustBundles.ContainsKey("west.example"));
    }

    [Fact]
    public void Loopback_http_endpoint_is_allowed_for_development()
    {
        var tls = Load("""
                    west.example: { endpoint: "http://127.0.0.1:9000/bundle", refresh_interval: 30s }
            """).Listeners[0].Tls!;

        Assert.Equal(TimeSpan.FromSeconds(30), tls.TrustBundleEndpoints["west.example"].RefreshInterval);
    }

    [Fact]
    public void Effective_config_shows_the_endpoint_settings()
    {
        var config = Load("""
                    west.example: { endpoint: "https://spire.west.example/bundle", refresh_interval: 1m }
            """);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            EffectiveConfigWriter.WriteJson(config, writer);
        }

        var west = JsonDocument.Parse(Encoding.UTF8.GetString(buffer.ToArray())).RootElement
            .GetProperty("listeners")[0].GetProperty("tls").GetProperty("trust_bundles").GetProperty("west.example");
        Assert.Equal("https://spire.west.example/bundle", west.GetProperty("endpoint").GetString());
        Assert.Equal("1m", west.GetProperty("refresh_interval").GetString());
        Assert.Equal("1d", west.GetProperty("max_stale").GetString());
    }

    [Fact]
    public void Changing_an_endpoint_is_a_listener_change_and_an_identical_one_is_not()
    {
        var a = Load("""
                    west.example: { endpoint: "https://spire.west.example/bundle" }
            """);
        var same = Load("""
                    west.example: { endpoint: "https://spire.west.example/bundle" }
            """);
        var moved = Load("""
                    west.example: { endpoint: "https://spire2.west.example/bundle" }
            """);

        Assert.False(RestartRequiredSettings.ListenersChanged(a, same));
        Assert.True(RestartRequiredSettings.ListenersChanged(a, moved));
    }
}
