using System.ComponentModel;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gatehouse.Diagnostics;

namespace Gatehouse.Tests.Diagnostics;

public sealed class PrometheusExporterTests
{
    private static (GatehouseMetrics Metrics, PrometheusExporter Exporter) CreateWithTraffic()
    {
        var metrics = new GatehouseMetrics();
        var exporter = new PrometheusExporter(metrics);
        metrics.RecordDecision("orders", allowed: true, "policy.allow_matched:orders-read/rule0", 0.0004);
        metrics.RecordDecision("orders", allowed: true, "policy.allow_matched:orders-read/rule0", 0.003);
        metrics.RecordDecision("orders", allowed: false, "scope.missing:orders.write", 0.02);
        metrics.RecordDecision("weird \"route\"\\\nname", allowed: false, "token.expired", 50);
        metrics.RecordDecision(null, allowed: false, "route.not_found", 0.00001);
        metrics.RecordJwksFetch("corp", success: true);
        metrics.RecordJwksFetch("corp", success: false);
        metrics.RegisterKeyState("corp", () => (42.5, false));
        metrics.RegisterKeyState("partner", () => (7200, true));
        metrics.RecordIntrospectionCache("corp", hit: true);
        metrics.RecordIntrospectionCache("corp", hit: false);
        metrics.RecordConfigReload(success: true);
        metrics.RecordConfigReload(success: false);
        metrics.RecordAuditDropped();
        metrics.RecordAuditWritten();
        metrics.RecordAuditSinkError("file");
        metrics.RecordDecisionCache(hit: true);
        metrics.RecordDecisionCache(hit: false);
        return (metrics, exporter);
    }

    [Fact]
    public void WriteTo_ExposesEveryGatehouseMetricUnderItsPrometheusName()
    {
        var (metrics, exporter) = CreateWithTraffic();
        using (metrics)
        using (exporter)
        {
            var families = PrometheusTextParser.Parse(exporter.Collect());

            Assert.Equal("counter", families["gatehouse_decisions_total"].Type);
            Assert.Equal("histogram", families["gatehouse_request_duration_seconds"].Type);
            Assert.Equal("counter", families["gatehouse_jwks_fetch_total"].Type);
            Assert.Equal("gauge", families["gatehouse_jwks_key_age_seconds"].Type);
            Assert.Equal("gauge", families["gatehouse_jwks_stale"].Type);
            Assert.Equal("counter", families["gatehouse_introspection_cache_total"].Type);
            Assert.Equal("counter", families["gatehouse_config_reloads_total"].Type);
            Assert.Equal("counter", families["gatehouse_audit_dropped_total"].Type);
            Assert.Equal("counter", families["gatehouse_audit_records_total"].Type);
            Assert.Equal("counter", families["gatehouse_audit_sink_errors_total"].Type);
            Assert.Equal("counter", families["gatehouse_decision_cache_total"].Type);

            var allowed = Assert.Single(families["gatehouse_decisions_total"].Samples, s => s.Labels["decision"] == "allow");
            Assert.Equal(2, allowed.Value);
            Assert.Equal("policy.allow_matched", allowed.Labels["reason"]);
            Assert.Contains(families["gatehouse_decisions_total"].Samples, s => s.Labels["route"] == "weird \"route\"\\\nname");
            Assert.Equal(7200, Assert.Single(families["gatehouse_jwks_key_age_seconds"].Samples, s => s.Labels["issuer"] == "partner").Value);
            Assert.Equal(1, Assert.Single(families["gatehouse_jwks_stale"].Samples, s => s.Labels["issuer"] == "partner").Value);

            var duration = families["gatehouse_request_duration_seconds"].Samples.Where(s => s.Labels.GetValueOrDefault("route") == "orders" && s.Labels["decision"] == "allow").ToList();
            Assert.Equal(1, duration.Single(s => s.Name.EndsWith("_bucket", StringComparison.Ordinal) && s.Labels["le"] == "0.0005").Value);
            Assert.Equal(2, duration.Single(s => s.Name.EndsWith("_bucket", StringComparison.Ordinal) && s.Labels["le"] == "0.005").Value);
            Assert.Equal(2, duration.Single(s => s.Labels.GetValueOrDefault("le") == "+Inf").Value);
            Assert.Equal(0.0034, duration.Single(s => s.Name.EndsWith("_sum", StringComparison.Ordinal)).Value, 9);
        }
    }

    [Fact]
    public void WriteTo_IncludesNamedMetersAndMapsKindsAndUnits()
    {
        using var meter = new Meter("Gatehouse.Tests.Exporter." + Guid.NewGuid().ToString("N"));
        using var exporter = new PrometheusExporter(m => ReferenceEquals(m, meter));
        var requests = meter.CreateCounter<long>("http.server.requests.total", "{request}", "Requests.");
        var active = meter.CreateUpDownCounter<int>("kestrel.active_connections", "{connection}", "Open connections.");
        var memory = meter.CreateObservableUpDownCounter("dotnet.process.memory.working_set", () => 1024L, "By", "Working set.");
        var ratio = meter.CreateObservableGauge("cache.fill", () => 0.5, "1", "Fill ratio.");
        var cpu = meter.CreateObservableCounter("dotnet.process.cpu.time", () => new Measurement<double>(1.5, new KeyValuePair<string, object?>("cpu.mode", "user")), "s");
        var size = meter.CreateHistogram<long>("http.client.request.body.size", "By", "Body sizes.");
        var gauge = meter.CreateGauge<double>("queue.depth", null, "Depth.");
        requests.Add(3, new KeyValuePair<string, object?>("http.request.method", "GET"), new KeyValuePair<string, object?>("ok", true));
        active.Add(5);
        active.Add(-2);
        size.Record(7);
        size.Record(20_000);
        gauge.Record(4);
        gauge.Record(9);

        var families = PrometheusTextParser.Parse(exporter.Collect());

        var total = Assert.Single(families["http_server_requests_total"].Samples);
        Assert.Equal(3, total.Value);
        Assert.Equal("GET", total.Labels["http_request_method"]);
        Assert.Equal("true", total.Labels["ok"]);
        Assert.Equal(3, Assert.Single(families["kestrel_active_connections"].Samples).Value);
        Assert.Equal("gauge", families["dotnet_process_memory_working_set_bytes"].Type);
        Assert.Equal(0.5, Assert.Single(families["cache_fill_ratio"].Samples).Value);
        Assert.Equal(1.5, Assert.Single(families["dotnet_process_cpu_time_seconds_total"].Samples).Value);
        Assert.Equal("dotnet.process.cpu.time (" + meter.Name + ")", families["dotnet_process_cpu_time_seconds_total"].Help);
        Assert.Equal(2, families["http_client_request_body_size_bytes"].Samples.Single(s => s.Name.EndsWith("_count", StringComparison.Ordinal)).Value);
        Assert.Equal(1, families["http_client_request_body_size_bytes"].Samples.Single(s => s.Labels.GetValueOrDefault("le") == "10000").Value);
        Assert.Equal(9, Assert.Single(families["queue_depth"].Samples).Value);
    }

    [Fact]
    public void Record_AggregatesByTagContent_WhateverTheInstancesAndOrder()
    {
        using var meter = new Meter("Gatehouse.Tests.Exporter." + Guid.NewGuid().ToString("N"));
        using var exporter = new PrometheusExporter(m => ReferenceEquals(m, meter));
        var counter = meter.CreateCounter<long>("requests");
        static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);
        // Equal content as new string instances (the last-series shortcut compares references), boxed ints, reordered
        // tags, and a different series in between: each measurement must land in the series its content names.
        var route = new string("orders".AsSpan());
        counter.Add(1, Tag("route", "orders"), Tag("status", 200));
        counter.Add(1, Tag("route", route), Tag("status", 200));
        counter.Add(1, Tag("status", 200), Tag("route", "orders"));
        counter.Add(1, Tag("route", "orders"), Tag("status", 403));
        counter.Add(1, Tag("route", "orders"), Tag("status", 200));
        counter.Add(1, Tag("route", new string("orders".AsSpan())), Tag("status", 403));

        var samples = PrometheusTextParser.Parse(exporter.Collect())["requests_total"].Samples;

        Assert.Equal(2, samples.Count);
        Assert.Equal(4, Assert.Single(samples, s => s.Labels["status"] == "200").Value);
        Assert.Equal(2, Assert.Single(samples, s => s.Labels["status"] == "403").Value);
    }

    [Theory]
    [InlineData("gatehouse.decisions", "{decision}", "Counter", "gatehouse_decisions_total")]
    [InlineData("http.server.request.duration", "s", "Histogram", "http_server_request_duration_seconds")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", "Counter", "dotnet_gc_heap_total_allocated_bytes_total")]
    [InlineData("requests_total", null, "Counter", "requests_total")]
    [InlineData("latency_seconds", "s", "Gauge", "latency_seconds")]
    [InlineData("throughput", "By/s", "Gauge", "throughput_bytes_per_seconds")]
    [InlineData("9lives..x-y", null, "Gauge", "_9lives_x_y")]
    [InlineData("dotnet.assembly.count", "{assembly}", "Gauge", "dotnet_assembly_count_value")]
    [InlineData("dotnet.timer.count", "{timer}", "Counter", "dotnet_timer_count_total")]
    [InlineData("cache.ratio", "1", "Gauge", "cache_ratio")]
    public void FamilyNameOf_FollowsOpenTelemetryPrometheusRules(string name, string? unit, string kind, string expected) =>
        Assert.Equal(expected, PrometheusExporter.FamilyNameOf(name, unit, Enum.Parse<PrometheusExporter.MetricKind>(kind)));

    [Fact]
    public async Task WriteTo_IsConsistentUnderConcurrentUpdates()
    {
        using var metrics = new GatehouseMetrics();
        using var exporter = new PrometheusExporter(metrics);
        const int Threads = 8;
        const int PerThread = 5000;
        using var stop = new CancellationTokenSource();
        var scraper = Task.Run(() =>
        {
            var scrapes = 0;
            while (!stop.IsCancellationRequested)
            {
                PrometheusTextParser.Parse(exporter.Collect());
                scrapes++;
            }

            return scrapes;
        });

        Parallel.For(0, Threads, t =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                metrics.RecordDecision("r" + (i % 4), (i & 1) == 0, "policy.allow_matched", 0.001 * (t + 1));
            }
        });
        stop.Cancel();
        Assert.True(await scraper > 0);

        var families = PrometheusTextParser.Parse(exporter.Collect());
        Assert.Equal(Threads * PerThread, families["gatehouse_decisions_total"].Samples.Sum(s => s.Value));
        Assert.Equal(Threads * PerThread, families["gatehouse_request_duration_seconds"].Samples.Where(s => s.Name.EndsWith("_count", StringComparison.Ordinal)).Sum(s => s.Value));
    }

    [Fact]
    public void WriteTo_IncludesTheRuntimeMeter()
    {
        using var metrics = new GatehouseMetrics();
        using var exporter = new PrometheusExporter(metrics);
        metrics.RecordConfigReload(success: true);

        var families = PrometheusTextParser.Parse(exporter.Collect());

        Assert.Contains(families.Keys, k => k.StartsWith("dotnet_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Output_IsAcceptedByPromtool()
    {
        var promtool = FindOnPath("promtool");
        if (promtool is null)
        {
            Assert.True(Environment.GetEnvironmentVariable("GATEHOUSE_REQUIRE_PROMTOOL") != "1",
                "promtool is not on PATH but GATEHOUSE_REQUIRE_PROMTOOL=1: install the Debian package 'prometheus' (apt-get install -y prometheus).");
            return;
        }

        var (metrics, exporter) = CreateWithTraffic();
        using (metrics)
        using (exporter)
        {
            _ = exporter.Collect(); // make sure runtime instruments were observed at least once
            var text = exporter.Collect();

            var start = new ProcessStartInfo(promtool, ["check", "metrics"])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start) ?? throw new Win32Exception("promtool did not start");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(text);
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);

            Assert.True(process.ExitCode == 0, $"promtool check metrics failed ({process.ExitCode}):\n{await stdout}{await stderr}\n--- input ---\n{text}");
        }
    }

    private static string? FindOnPath(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
