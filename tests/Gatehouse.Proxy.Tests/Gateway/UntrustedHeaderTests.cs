using System.Net;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// Headers an upstream may trust though any caller can send them (<c>listeners[].strip_untrusted_headers</c>,
/// <c>listeners[].headers_with_underscores</c>), through the real gateway to a real upstream.
/// </summary>
public sealed class UntrustedHeaderTests
{
    private static readonly string[] s_untrusted =
    [
        "x-envoy-internal", "x-envoy-original-path", "X-Envoy-Expected-Rq-Timeout-Ms",
        "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL",
    ];

    private static Task<GatewayHarness> StartAsync(string listenerKeys = "", string policies = "  {}")
        => GatewayHarness.StartAsync((upstream, jwks) => GatewayHarness.DefaultConfig(upstream, jwks, $$"""
              - name: public
                match: { path_prefix: /public }
                upstream: {{upstream}}
                authentication: { issuers: [corp], require_token: false }
                policies: [no-envoy-internal]
            """, policies == "  {}" ? """
              no-envoy-internal:
                action: deny
                rules:
                  - when: { "headers.x-envoy-internal": ["true"] }
            """ : policies).Replace(
                "{ name: edge, mode: gateway, address: \"127.0.0.1:0\", include_error_details: true }",
                "{ name: edge, mode: gateway, address: \"127.0.0.1:0\", include_error_details: true" + listenerKeys + " }",
                StringComparison.Ordinal));

    private static void AddHostileHeaders(HttpRequestMessage request)
    {
        foreach (var name in s_untrusted)
        {
            request.Headers.TryAddWithoutValidation(name, name.Contains("url", StringComparison.OrdinalIgnoreCase) ? "/admin" : name.Contains("method", StringComparison.OrdinalIgnoreCase) ? "DELETE" : "true");
        }
        request.Headers.TryAddWithoutValidation("x_user_id", "admin");
        request.Headers.TryAddWithoutValidation("X-User-Id", "alice");
    }

    [Fact]
    public async Task ByDefault_EnvoyHeaders_Overrides_AndUnderscoredNames_NeverReachTheUpstream()
    {
        await using var gateway = await StartAsync();

        using var response = await gateway.GetAsync("/public/x", configure: AddHostileHeaders);

        // The policy saw the same request as the upstream: the DENY on x-envoy-internal cannot match a stripped header.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = gateway.Upstream.Last().Headers;
        foreach (var name in s_untrusted)
        {
            Assert.False(seen.ContainsKey(name), name);
        }
        Assert.False(seen.ContainsKey("x_user_id"));
        Assert.Equal("alice", seen["x-user-id"]);
        Assert.Equal("GET", gateway.Upstream.Last().Method);
        Assert.Equal("/public/x", gateway.Upstream.Last().Path);
    }

    [Fact]
    public async Task Reject_RefusesAnUnderscoredHeaderWith400()
    {
        await using var gateway = await StartAsync(", headers_with_underscores: reject");

        using var refused = await gateway.GetAsync("/public/x", configure: r => r.Headers.TryAddWithoutValidation("X_User_Id", "admin"));
        using var fine = await gateway.GetAsync("/public/x", configure: r => r.Headers.TryAddWithoutValidation("X-User-Id", "alice"));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("request.header_with_underscore:x_user_id", Assert.Single(refused.Headers.GetValues("x-gatehouse-reason")));
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
        Assert.Single(gateway.Upstream.Received);
    }

    [Fact]
    public async Task Allow_AndStripOff_PassThemThrough_AndThePolicySeesThem()
    {
        await using var gateway = await StartAsync(", strip_untrusted_headers: false, headers_with_underscores: allow");

        using var passed = await gateway.GetAsync("/public/x", configure: r =>
        {
            r.Headers.TryAddWithoutValidation("X-HTTP-Method-Override", "DELETE");
            r.Headers.TryAddWithoutValidation("x_user_id", "admin");
        });
        using var denied = await gateway.GetAsync("/public/x", configure: r => r.Headers.TryAddWithoutValidation("x-envoy-internal", "true"));

        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        var seen = gateway.Upstream.Last().Headers;
        Assert.Equal("DELETE", seen["x-http-method-override"]);
        Assert.Equal("admin", seen["x_user_id"]);
        // Anonymous, refused by the DENY policy on a route that accepts tokens: 401 (docs/errors.md).
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.StartsWith("policy.deny_matched", Assert.Single(denied.Headers.GetValues("x-gatehouse-reason")), StringComparison.Ordinal);
    }
}
