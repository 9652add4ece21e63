using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Tests.Contract;
using Gatehouse.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// Statuses that tell operators and clients the truth (docs/errors.md): the client's broken body is 400, not an
/// upstream failure; RFC 6750 challenges only where they apply; readiness follows <c>max_stale</c>.
/// </summary>
public sealed class StatusCodeTests
{
    private static string Routes(string upstream) => $$"""
          - name: public
            match: { path_prefix: /public }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
          - name: workload
            match: { path_prefix: /workload }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
            policies: [only-checkout-workload]
          - name: scoped
            match: { path_prefix: /scoped }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true }
            policies: [needs-write]
          - name: admin-blocked
            match: { path_prefix: /admin }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true }
            policies: [block-admin]
        """;

    private const string Policies = """
          only-checkout-workload:
            action: allow
            rules:
              - from: { principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] }
          needs-write:
            action: allow
            rules:
              - when: { scopes: [orders.write] }
          block-admin:
            action: deny
            rules:
              - to: { paths: ["/admin/*"] }
        """;

    private static Task<GatewayHarness> StartAsync(IList<string>? log = null)
        => GatewayHarness.StartAsync((upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks, Routes(upstream), Policies), logSink: log);

    [Fact]
    public async Task MalformedChunkedBody_OnAnAllowedRoute_Is400_NotAnUpstreamFailure()
    {
        var log = new List<string>();
        await using var gateway = await StartAsync(log);
        var head = "POST /public/upload HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

        var response = await RawHttp.SendBytesAsync(gateway.Server.GetListenerUri("edge"), Encoding.ASCII.GetBytes(head + "5\r\nhello\r\nZZ-not-hex\r\n"));

        Assert.Equal(400, response.Status);
        Assert.Contains("request.body_invalid", response.Body, StringComparison.Ordinal);
        lock (log)
        {
            Assert.DoesNotContain(log, line => line.Contains("[1502]", StringComparison.Ordinal));
            Assert.Contains(log, line => line.Contains("[1503]", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task TruncatedBody_IsTheClientsFault_NotAnUpstreamOne()
    {
        var log = new List<string>();
        await using var gateway = await StartAsync(log);
        var head = "POST /public/upload HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 100\r\n\r\nonly-part-of-it";

        // The client stops sending before the announced length (RFC 9112 §8: an incomplete message) and half-closes.
        try
        {
            var response = await RawHttp.SendBytesAsync(gateway.Server.GetListenerUri("edge"), Encoding.ASCII.GetBytes(head), halfClose: true);
            Assert.Equal(400, response.Status);
        }
        catch (IOException)
        {
            // Kestrel may close the connection without an answer once the client has gone: that is fine too.
        }

        // Bounded wait for the forwarding attempt to end (it logs either way), then: the client's fault, not the upstream's.
        for (var i = 0; i < 200 && !Logged(log, "[1503]") && !Logged(log, "[1502]"); i++)
        {
            await Task.Delay(25);
        }
        Assert.True(Logged(log, "[1503]"), string.Join(Environment.NewLine, log));
        Assert.False(Logged(log, "[1502]"));
    }

    private static bool Logged(List<string> log, string id)
    {
        lock (log)
        {
            return log.Any(line => line.Contains(id, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task PolicyDenial_WithoutAToken_Is401WithABareChallenge_WhereATokenCouldHelp()
    {
        await using var gateway = await StartAsync();

        using var response = await gateway.GetAsync("/workload/x");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer realm=\"gatehouse\"", Assert.Single(response.Headers.GetValues("WWW-Authenticate")));
        Assert.Equal("policy.no_allow_match", Assert.Single(response.Headers.GetValues("x-gatehouse-reason")));
        Assert.Empty(gateway.Upstream.Received);
    }

    [Fact]
    public async Task PolicyDenial_WhereNoTokenCouldHelp_Is403WithoutAChallenge()
    {
        // No issuer at all: no token can satisfy anything, so a refusal is a plain 403.
        await using var gateway = await GatewayHarness.StartAsync((upstream, _) => $$"""
            version: 1
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
            routes:
              - name: open
                match: { path_prefix: /open }
                upstream: {{upstream}}
                authentication: { require_token: false }
                policies: [only-checkout-workload]
            policies:
              only-checkout-workload:
                action: allow
                rules:
                  - from: { principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] }
            """);

        using var response = await gateway.GetAsync("/open/x");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains("WWW-Authenticate"));
        Assert.Equal("forbidden", await ErrorAsync(response));
    }

    [Fact]
    public async Task PolicyDenial_WithAToken_ButNoMissingScope_Is403WithoutInsufficientScope()
    {
        await using var gateway = await StartAsync();

        using var denied = await gateway.GetAsync("/admin/users", gateway.Keys.Mint("orders.read orders.write"));
        using var wrongWorkload = await gateway.GetAsync("/workload/x", gateway.Keys.Mint());

        foreach (var response in new[] { denied, wrongWorkload })
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.False(response.Headers.Contains("WWW-Authenticate"), "a policy refusal that is not about scope carries no insufficient_scope challenge (RFC 6750 §3.1)");
            Assert.Equal("forbidden", await ErrorAsync(response));
        }
        Assert.StartsWith("policy.deny_matched", Assert.Single(denied.Headers.GetValues("x-gatehouse-reason")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PolicyDenial_OnAScopeCondition_SaysInsufficientScope_WithTheScope()
    {
        await using var gateway = await StartAsync();

        using var response = await gateway.GetAsync("/scoped/x", gateway.Keys.Mint("orders.read"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var challenge = Assert.Single(response.Headers.GetValues("WWW-Authenticate"));
        Assert.Contains("error=\"insufficient_scope\"", challenge, StringComparison.Ordinal);
        Assert.EndsWith("scope=\"orders.write\"", challenge, StringComparison.Ordinal);
        Assert.Equal("insufficient_scope", await ErrorAsync(response));
    }

    [Fact]
    public async Task Readyz_SaysNotReady_WhenAnIssuersKeysArePastMaxStale()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var keys = new TestIssuerKeys();
        var directory = Gatehouse.Testing.TestTemp.CreateDirectory("readyz-");
        Directory.CreateDirectory(directory);
        var jwks = Path.Combine(directory, "jwks.json");
        await File.WriteAllTextAsync(jwks, keys.JwksJson());
        var configPath = Path.Combine(directory, "gatehouse.yaml");
        await File.WriteAllTextAsync(configPath, $$"""
            version: 1
            issuers:
              corp:
                issuer: {{TestIssuerKeys.Issuer}}
                jwks_file: {{jwks}}
                audiences: [{{TestIssuerKeys.Audience}}]
                keys: { max_stale: 1h }
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
              - { name: admin, mode: admin, address: "127.0.0.1:0" }
            routes:
              - name: orders
                match: { path_prefix: /orders }
                upstream: http://127.0.0.1:1
                authentication: { issuers: [corp], require_token: true }
            """);
        var load = ConfigLoader.LoadFile(configPath);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        await using var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            WatchForChanges = false,
            TimeProvider = clock,
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        });
        Assert.True(await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(10)));
        using var admin = new HttpClient { BaseAddress = server.GetListenerUri("admin") };
        using var edge = new HttpClient { BaseAddress = server.GetListenerUri("edge") };
        using (var ready = await admin.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // The key source goes away and time passes beyond max_stale: every request of this issuer now gets 503.
        File.Delete(jwks);
        clock.Advance(TimeSpan.FromHours(2));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        request.Headers.Authorization = new("Bearer", keys.Mint(lifetime: TimeSpan.FromDays(1)));
        using var refused = await edge.SendAsync(request);
        using var notReady = await admin.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        using var body = JsonDocument.Parse(await notReady.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.GetProperty("ready").GetBoolean());
        var issuer = body.RootElement.GetProperty("issuers").GetProperty("corp");
        Assert.True(issuer.GetProperty("expired").GetBoolean());
        Assert.False(issuer.GetProperty("ready").GetBoolean());
        Directory.Delete(directory, recursive: true);
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetString()!;
    }
}
