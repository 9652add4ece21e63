using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Observability;

/// <summary>
/// Issue 6 through the running server: W3C trace context reaches the upstream, every decision is audited exactly
/// once under load (after the graceful shutdown flushes), and /metrics is valid Prometheus text with the documented
/// families.
/// </summary>
public sealed class ObservabilityTests
{
    private static string AuditConfig(string upstream, string jwks, string auditPath) =>
        GatewayHarness.DefaultConfig(upstream, jwks, extra: $"audit: {{ path: {auditPath} }}");

    private static string NewAuditPath(out string directory)
    {
        directory = Gatehouse.Testing.TestTemp.CreateDirectory("obs-");
        return Path.Combine(directory, "audit.jsonl");
    }

    [Fact]
    public async Task Traceparent_ReachesUpstream_SameTraceId_NewParentSpan_AndIsAudited()
    {
        var auditPath = NewAuditPath(out var directory);
        try
        {
            var traceId = ActivityTraceId.CreateRandom().ToHexString();
            var parentId = ActivitySpanId.CreateRandom().ToHexString();
            string? received;
            await using (var gateway = await GatewayHarness.StartAsync((u, j) => AuditConfig(u, j, auditPath)))
            {
                using var response = await gateway.GetAsync("/orders/1", gateway.Keys.Mint(), r =>
                {
                    r.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{parentId}-01");
                    r.Headers.TryAddWithoutValidation("tracestate", "vendor=abc");
                });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                gateway.Upstream.Last().Headers.TryGetValue("traceparent", out received);
            }

            Assert.NotNull(received);
            var parts = received.Split('-');
            Assert.Equal(4, parts.Length);
            Assert.Equal("00", parts[0]);
            Assert.Equal(traceId, parts[1]);
            Assert.Matches("^[0-9a-f]{16}$", parts[2]);
            Assert.NotEqual(parentId, parts[2]);
            Assert.NotEqual("0000000000000000", parts[2]);

            var record = JsonDocument.Parse(File.ReadAllLines(auditPath).Single()).RootElement;
            Assert.Equal(traceId, record.GetProperty("trace_id").GetString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task WithoutTraceparent_UpstreamGetsAFreshValidOne()
    {
        await using var gateway = await GatewayHarness.StartAsync();
        using var response = await gateway.GetAsync("/orders/1", gateway.Keys.Mint());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(gateway.Upstream.Last().Headers.TryGetValue("traceparent", out var received), "no traceparent upstream");
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", received);
    }

    [Fact]
    public async Task AuditRecordCount_EqualsRequestCount_Under500RequestsFrom8Clients()
    {
        const int clients = 8;
        const int perClient = 63; // 8 × 63 = 504 requests
        var auditPath = NewAuditPath(out var directory);
        try
        {
            var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
            string metricsText;
            await using (var gateway = await GatewayHarness.StartAsync((u, j) => AuditConfig(u, j, auditPath)))
            {
                var token = gateway.Keys.Mint();
                var edge = gateway.Server.GetListenerUri("edge");
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
                await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
                {
                    using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = edge };
                    for (var i = 0; i < perClient; i++)
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Get, (i % 3) switch { 0 => "/orders/" + i, 1 => "/public/" + i, _ => "/nowhere/" + i });
                        if (i % 2 == 0)
                        {
                            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
                        }
                        using var response = await http.SendAsync(request, cts.Token);
                        statuses.Add(response.StatusCode);
                    }
                }));
                using var admin = new HttpClient { BaseAddress = gateway.AdminUri };
                metricsText = await admin.GetStringAsync("/metrics");
            }

            const int total = clients * perClient;
            Assert.Equal(total, statuses.Count);
            Assert.DoesNotContain(statuses, s => (int)s >= 500);
            Assert.Contains(HttpStatusCode.OK, statuses);
            Assert.Contains(HttpStatusCode.Unauthorized, statuses);
            Assert.Contains(HttpStatusCode.NotFound, statuses);

            var lines = File.ReadAllLines(auditPath).Where(l => l.Length > 0).ToList();
            Assert.Equal(total, lines.Count);
            foreach (var line in lines)
            {
                var record = JsonDocument.Parse(line).RootElement;
                Assert.True(!record.TryGetProperty("dropped_before", out var dropped) || dropped.ValueKind == JsonValueKind.Null || dropped.GetInt64() == 0, line);
            }
            var statusCounts = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetInt32()).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
            foreach (var group in statuses.GroupBy(s => (int)s))
            {
                Assert.True(statusCounts.GetValueOrDefault(group.Key) == group.Count(), $"status {group.Key}: {group.Count()} responses, {statusCounts.GetValueOrDefault(group.Key)} audit records");
            }

            var families = PrometheusText.Parse(metricsText);
            Assert.Equal(total, families["gatehouse_decisions_total"].Samples.Sum(s => s.Value));
            Assert.Equal(0, families.TryGetValue("gatehouse_audit_dropped_total", out var drops) ? drops.Samples.Sum(s => s.Value) : 0);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Metrics_AreValidPrometheusText_WithDecisionAndDurationFamilies()
    {
        await using var gateway = await GatewayHarness.StartAsync();
        var token = gateway.Keys.Mint();
        for (var i = 0; i < 3; i++)
        {
            using (await gateway.GetAsync("/orders/1", token)) { }
        }
        using (await gateway.GetAsync("/orders/1")) { }
        using (await gateway.GetAsync("/orders/1", gateway.Keys.Mint("profile"))) { }
        using (await gateway.GetAsync("/nowhere")) { }

        using var admin = new HttpClient { BaseAddress = gateway.AdminUri };
        using var response = await admin.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0.0.4", response.Content.Headers.ContentType?.Parameters.FirstOrDefault(p => p.Name == "version")?.Value);

        var families = PrometheusText.Parse(text);

        var decisions = families["gatehouse_decisions_total"];
        Assert.Equal("counter", decisions.Type);
        Assert.All(decisions.Samples, s => Assert.Equal(["decision", "reason", "route"], s.Labels.Keys.Order(StringComparer.Ordinal)));
        double Count(string route, string decision, string reason) =>
            decisions.Samples.Where(s => s.Labels["route"] == route && s.Labels["decision"] == decision && s.Labels["reason"] == reason).Sum(s => s.Value);
        Assert.Equal(3, Count("orders", "allow", "policy.none"));
        Assert.Equal(1, Count("orders", "deny", "token.missing"));
        Assert.Equal(1, Count("orders", "deny", "scope.missing")); // the ':orders.read' detail is cut (cardinality)
        Assert.Equal(1, Count("unmatched", "deny", "route.not_found"));

        var duration = families["gatehouse_request_duration_seconds"];
        Assert.Equal("histogram", duration.Type);
        var count = duration.Samples.Where(s => s.Name == "gatehouse_request_duration_seconds_count").Sum(s => s.Value);
        Assert.Equal(6, count);
        Assert.Contains(duration.Samples, s => s.Name.EndsWith("_bucket", StringComparison.Ordinal) && s.Labels["le"] == "0.0001");

        // promtool (Debian package prometheus) is the reference linter; exit 0: valid (lint warnings exit 3 in newer versions).
        var (exitCode, output) = await TestSupport.Promtool.CheckMetricsAsync(text);
        Assert.True(exitCode == 0, $"promtool check metrics exited {exitCode}: {output}");
    }
}
