using System.Text.Json;
using Gatehouse.Tests.Contract;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Security;

/// <summary>What a bypass case must give.</summary>
public enum BypassExpect
{
    /// <summary>200, and the upstream receives exactly <see cref="BypassCase.UpstreamPath"/>.</summary>
    Forwarded,
    /// <summary>403 from the deny policy; nothing forwarded.</summary>
    Denied,
    /// <summary>400 (ambiguous or invalid target); nothing forwarded.</summary>
    Rejected,
    /// <summary>Any 4xx (400 or 403 are both right); nothing forwarded.</summary>
    Blocked,
}

public sealed record BypassCase(string Name, string Target, BypassExpect Expect, string? UpstreamPath = null)
{
    public override string ToString() => Name;
}

/// <summary>
/// Path normalization bypass classes (Envoy/Istio advisories: multiple slashes, %2F, %2e%2e, ';', '#', case; plus
/// NUL, backslash, absolute-form) through a running gateway to a real upstream that records the target it received
/// (issue 4 "Path safety"). A global DENY policy covers <c>/admin</c> and <c>/admin/*</c>; a request must either be
/// refused, or be forwarded with exactly the normalized path the policy saw — and never reach the upstream with an
/// <c>/admin</c> path. Targets go over raw TCP so the client does not rewrite them.
/// </summary>
public sealed class PathNormalizationBypassTests : IAsyncLifetime
{
    private GatewayHarness _gateway = null!;
    private string _token = null!;

    public static string Config(string upstream, string jwksPath, string extra = "") => GatewayHarness.DefaultConfig(
        upstream,
        jwksPath,
        routes: $$"""
              - name: app
                match: { path_prefix: / }
                upstream: {{upstream}}
                authentication: { issuers: [corp], require_token: false }
            """,
        policies: """
              block-admin:
                action: deny
                global: true
                rules:
                  - to: { paths: ["/admin", "/admin/*"] }
            """,
        extra: extra);

    public static IReadOnlyList<BypassCase> Cases { get; } =
    [
        // Baselines.
        new("Baseline_Admin", "/admin/x", BypassExpect.Denied),
        new("Baseline_AdminExact", "/admin", BypassExpect.Denied),
        new("Baseline_Public", "/public/x", BypassExpect.Forwarded, "/public/x"),
        // Multiple slashes (merged by default).
        new("Slashes_Leading", "//admin/x", BypassExpect.Denied),
        new("Slashes_Inner", "/admin//x", BypassExpect.Denied),
        new("Slashes_Many", "///admin///x", BypassExpect.Denied),
        new("Slashes_PublicMerged", "/public//x", BypassExpect.Forwarded, "/public/x"),
        // Encoded slash and backslash (CVE-2021-29492 class): rejected by default.
        new("EncodedSlash_Upper", "/admin%2Fx", BypassExpect.Rejected),
        new("EncodedSlash_Lower", "/admin%2fx", BypassExpect.Rejected),
        new("EncodedSlash_Leading", "/%2Fadmin/x", BypassExpect.Rejected),
        new("EncodedSlash_DotDot", "/public/..%2Fadmin/x", BypassExpect.Rejected),
        new("EncodedSlash_AllEncodedTraversal", "/public%2F..%2Fadmin%2Fx", BypassExpect.Rejected),
        new("EncodedBackslash_Upper", "/admin%5Cx", BypassExpect.Rejected),
        new("EncodedBackslash_Lower", "/public%5c..%5cadmin", BypassExpect.Rejected),
        new("RawBackslash", "/public\\..\\admin\\x", BypassExpect.Rejected),
        // Dot segments, raw and encoded (resolved after decoding unreserved characters).
        new("DotDot_Raw", "/public/../admin/x", BypassExpect.Denied),
        new("DotDot_EncodedLower", "/public/%2e%2e/admin/x", BypassExpect.Denied),
        new("DotDot_EncodedUpper", "/public/%2E%2E/admin/x", BypassExpect.Denied),
        new("DotDot_HalfEncoded", "/public/%2E./admin/x", BypassExpect.Denied),
        new("DotDot_OtherHalfEncoded", "/public/.%2e/admin/x", BypassExpect.Denied),
        new("Dot_ThenDotDot", "/public/./../admin/x", BypassExpect.Denied),
        new("Dot_Leading", "/./admin/x", BypassExpect.Denied),
        new("Dot_InsideAdmin", "/admin/./x", BypassExpect.Denied),
        new("DotDot_BackIntoAdmin", "/admin/x/..", BypassExpect.Denied),
        new("Dot_Encoded_Public", "/public/%2e/x", BypassExpect.Forwarded, "/public/x"),
        new("DotDot_Public_Trailing", "/public/x/..", BypassExpect.Forwarded, "/public/"),
        new("DotDot_ClimbAboveRoot", "/..", BypassExpect.Rejected),
        new("DotDot_ClimbAboveRootIntoAdmin", "/public/../../admin", BypassExpect.Rejected),
        new("DoubleEncodedDots_KeptEncoded", "/public/%252e%252e/admin/x", BypassExpect.Forwarded, "/public/%252e%252e/admin/x"),
        new("OverlongUtf8Dots_KeptEncoded", "/public/%c0%ae%c0%ae/admin/x", BypassExpect.Forwarded, "/public/%C0%AE%C0%AE/admin/x"),
        new("EncodedUnreserved_Decoded", "/%61dmin/x", BypassExpect.Denied),
        // ';' path parameters (Tomcat/Spring strip them: /admin;x/y is /admin/y there).
        new("Semicolon_DotDot", "/public/..;/admin/x", BypassExpect.Rejected),
        new("Semicolon_Dot", "/public/.;/admin/x", BypassExpect.Rejected),
        new("Semicolon_DotDotWithParam", "/public/..;jsessionid=1/admin/x", BypassExpect.Rejected),
        new("Semicolon_Encoded", "/admin%3Bx/y", BypassExpect.Rejected),
        new("Semicolon_InsideAdmin", "/admin/;x", BypassExpect.Rejected),
        new("Semicolon_ParamOnAdminSegment", "/admin;jsessionid=1/x", BypassExpect.Blocked),
        new("Semicolon_EmptyParamOnAdminSegment", "/admin;/x", BypassExpect.Blocked),
        new("Semicolon_ParamOnAdminExact", "/admin;x", BypassExpect.Blocked),
        new("Semicolon_Public", "/public;v=1/x", BypassExpect.Rejected),
        // '#': a fragment is never part of a request target.
        new("Fragment_OnAdmin", "/admin#x", BypassExpect.Rejected),
        new("Fragment_HidingTraversal", "/public/x#/../../admin", BypassExpect.Rejected),
        new("Fragment_Encoded_KeptEncoded", "/public/x%23/../y", BypassExpect.Forwarded, "/public/y"),
        // NUL and other controls.
        new("Nul_Encoded", "/admin%00/x", BypassExpect.Rejected),
        new("Nul_EncodedOnPublic", "/public/x%00", BypassExpect.Rejected),
        new("Nul_Raw", "/admin\0/x", BypassExpect.Rejected),
        new("CrLf_Encoded", "/public/x%0d%0aX-Injected:%20yes", BypassExpect.Rejected),
        new("Tab_Encoded", "/admin%09/x", BypassExpect.Rejected),
        // Case (policies are case-sensitive by default; see CaseInsensitiveConfig for lowercase_paths).
        new("Case_Upper_Consistent", "/ADMIN/x", BypassExpect.Forwarded, "/ADMIN/x"),
        new("Case_Mixed_Consistent", "/Admin/x", BypassExpect.Forwarded, "/Admin/x"),
        new("Case_EncodedUpper_Decoded", "/%41dmin/x", BypassExpect.Forwarded, "/Admin/x"),
        new("Case_LowerHexNormalized", "/public/caf%c3%a9", BypassExpect.Forwarded, "/public/caf%C3%A9"),
        // absolute-form request targets (RFC 9112 §3.2.2).
        new("Absolute_Admin", "http://api.example.com/admin/x", BypassExpect.Denied),
        new("Absolute_DotDot", "http://api.example.com/public/../admin/x", BypassExpect.Blocked),
        new("Absolute_EncodedDotDot", "http://api.example.com/public/%2e%2e/admin/x", BypassExpect.Blocked),
        new("Absolute_EncodedSlash", "http://api.example.com/admin%2Fx", BypassExpect.Rejected),
        new("Absolute_DoubleSlash", "http://api.example.com//admin/x", BypassExpect.Blocked),
        new("Absolute_Semicolon", "http://api.example.com/admin;x/y", BypassExpect.Blocked),
        new("Absolute_Fragment", "http://api.example.com/public/x#/../../admin", BypassExpect.Blocked),
        new("Absolute_Public", "http://api.example.com/public/x", BypassExpect.Forwarded, "/public/x"),
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases)
        {
            data.Add(c.Name);
        }
        return data;
    }

    public async Task InitializeAsync()
    {
        _gateway = await GatewayHarness.StartAsync((u, j) => Config(u, j));
        _token = _gateway.Keys.Mint();
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Theory]
    [MemberData(nameof(Names))]
    public async Task BypassCase_IsRefusedOrForwardedWithTheNormalizedPath(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        var (response, upstreamPath) = await SendAsync(_gateway, c.Target, _token);
        var context = $"{c.Name} ({c.Target}): {response}, upstream received {upstreamPath ?? "(nothing)"}";

        Assert.True(response.Status < 500, context);
        AssertNoAdminReachedUpstream(upstreamPath, caseInsensitive: false, context);
        switch (c.Expect)
        {
            case BypassExpect.Forwarded:
                Assert.True(response.Status == 200, context);
                Assert.True(c.UpstreamPath == upstreamPath, context);
                break;
            case BypassExpect.Denied:
                Assert.True(response.Status == 403 && upstreamPath is null, context);
                Assert.StartsWith("policy.deny_matched:block-admin/", response.Header("x-gatehouse-reason"));
                break;
            case BypassExpect.Rejected:
                Assert.True(response.Status == 400 && upstreamPath is null, context);
                break;
            case BypassExpect.Blocked:
                Assert.True(response.Status is 400 or 403 && upstreamPath is null, context);
                break;
        }
    }

    /// <summary>With <c>paths.lowercase_paths: true</c>, every case variation of /admin is denied.</summary>
    [Theory]
    [InlineData("/ADMIN/x")]
    [InlineData("/Admin/x")]
    [InlineData("/%41dmin/x")]
    [InlineData("/aDmIn")]
    [InlineData("//ADMIN//x")]
    [InlineData("/public/../ADMIN/x")]
    public async Task LowercasePaths_CaseVariations_AreDenied(string target)
    {
        await using var gateway = await GatewayHarness.StartAsync((u, j) => Config(u, j, "paths: { lowercase_paths: true }"));
        var (response, upstreamPath) = await SendAsync(gateway, target, gateway.Keys.Mint());

        Assert.True(response.Status == 403 && upstreamPath is null, $"{target}: {response}, upstream received {upstreamPath}");
    }

    [Fact]
    public async Task LowercasePaths_ForwardsTheLowercasedPath()
    {
        await using var gateway = await GatewayHarness.StartAsync((u, j) => Config(u, j, "paths: { lowercase_paths: true }"));
        var (response, upstreamPath) = await SendAsync(gateway, "/Public/Caf%c3%a9", gateway.Keys.Mint());

        Assert.Equal(200, response.Status);
        Assert.Equal("/public/caf%C3%A9", upstreamPath);
    }

    /// <summary>
    /// For every forwarded case the audit record (the path the decision was made on) equals the path the upstream
    /// received: the policy and the upstream never see different paths.
    /// </summary>
    [Fact]
    public async Task ForwardedCases_UpstreamPath_EqualsAuditedPolicyPath()
    {
        var auditDirectory = Gatehouse.Testing.TestTemp.CreateDirectory("bypass-audit-");
        Directory.CreateDirectory(auditDirectory);
        var auditPath = Path.Combine(auditDirectory, "audit.jsonl");
        try
        {
            var forwarded = Cases.Where(c => c.Expect == BypassExpect.Forwarded).ToList();
            var upstreamPaths = new List<string?>();
            await using (var gateway = await GatewayHarness.StartAsync((u, j) => Config(u, j, $"audit: {{ path: {auditPath} }}")))
            {
                var token = gateway.Keys.Mint();
                foreach (var c in forwarded)
                {
                    var (_, upstreamPath) = await SendAsync(gateway, c.Target, token);
                    upstreamPaths.Add(upstreamPath);
                }
            }

            var audited = File.ReadAllLines(auditPath)
                .Select(line => JsonDocument.Parse(line).RootElement)
                .Where(r => r.GetProperty("route").GetString() == "app")
                .Select(r => r.GetProperty("path").GetString())
                .ToList();
            Assert.Equal(forwarded.Count, audited.Count);
            for (var i = 0; i < forwarded.Count; i++)
            {
                Assert.True(upstreamPaths[i] == audited[i], $"{forwarded[i].Name}: policy saw {audited[i]}, upstream received {upstreamPaths[i]}");
            }
        }
        finally
        {
            Directory.Delete(auditDirectory, recursive: true);
        }
    }

    internal static async Task<(RawResponse Response, string? UpstreamPath)> SendAsync(GatewayHarness gateway, string target, string token)
    {
        var caseId = Guid.NewGuid().ToString("N");
        var response = await RawHttp.SendAsync(gateway.Server.GetListenerUri("edge"), "GET", target, headers: ["Authorization: Bearer " + token, "x-case-id: " + caseId]);
        var received = gateway.Upstream.Received.FirstOrDefault(r => r.Headers.TryGetValue("x-case-id", out var id) && id == caseId);
        if (received is null)
        {
            return (response, null);
        }
        var question = received.RawTarget.IndexOf('?', StringComparison.Ordinal);
        return (response, question < 0 ? received.RawTarget : received.RawTarget[..question]);
    }

    /// <summary>
    /// The upstream must never receive a path that addresses /admin, as any common server would read it: segments
    /// with their ';' parameters stripped (Tomcat, Spring, Jetty) and dot segments resolved.
    /// </summary>
    internal static void AssertNoAdminReachedUpstream(string? upstreamPath, bool caseInsensitive, string context)
    {
        if (upstreamPath is null)
        {
            return;
        }
        var segments = new List<string>();
        foreach (var raw in upstreamPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var segment = raw.Split(';')[0];
            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
            }
            else if (segment is not "." and not "")
            {
                segments.Add(segment);
            }
        }
        var comparison = caseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        Assert.False(segments.Count > 0 && string.Equals(segments[0], "admin", comparison), $"BYPASS: the upstream received an /admin path. {context}");
    }
}
