using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Observability;

/// <summary>
/// Issue 6, "never on the request path, never silently lost", through the running gateway: with the audit sink
/// stuck, every request is still answered, the overflow is counted in <c>/metrics</c>, and once the sink moves again
/// the next record carries the count (<c>dropped_before</c>).
/// </summary>
public sealed class AuditBackpressureTests
{
    private const int QueueCapacity = 4;
    private const int Requests = 40;

    [Fact]
    public async Task SaturatedSink_RequestsStillSucceed_DropsAreCountedAndCarried()
    {
        var sink = new StuckSink();
        var statuses = new List<HttpStatusCode>();
        string metrics;
        await using (var gateway = await GatewayHarness.StartAsync(
            (u, j) => GatewayHarness.DefaultConfig(u, j, extra: $"audit: {{ queue_capacity: {QueueCapacity} }}"),
            auditSinks: [sink]))
        {
            var token = gateway.Keys.Mint();
            using (var first = await gateway.GetAsync("/orders/first", token))
            {
                statuses.Add(first.StatusCode);
            }
            // The consumer now holds the first record inside the stuck sink: the queue can only fill.
            await sink.FirstWriteStarted.WaitAsync(TimeSpan.FromSeconds(30));

            for (var i = 0; i < Requests; i++)
            {
                using var response = await gateway.GetAsync("/orders/" + i, token);
                statuses.Add(response.StatusCode);
            }

            using var admin = new HttpClient { BaseAddress = gateway.AdminUri };
            metrics = await admin.GetStringAsync("/metrics");
            sink.Release();
            await gateway.Server.FlushAuditAsync();   // the queue has room again before the next request
            using (var after = await gateway.GetAsync("/orders/after", token))
            {
                statuses.Add(after.StatusCode);
            }
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        const int dropped = Requests - QueueCapacity;
        var families = PrometheusText.Parse(metrics);
        Assert.Equal(dropped, families["gatehouse_audit_dropped_total"].Samples.Sum(s => s.Value));

        // Written after the graceful shutdown drained the queue: the first, the queued, and the one after release.
        var records = sink.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(1 + QueueCapacity + 1, records.Count);
        Assert.Equal(dropped, records.Sum(r => r.TryGetProperty("dropped_before", out var d) ? d.GetInt64() : 0));
    }

    /// <summary>Holds every write until released: a sink that has stopped moving (a full disk, a stuck pipe).</summary>
    private sealed class StuckSink : IAuditSink
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<string> Lines { get; } = [];
        public string Name => "stuck";
        public Task FirstWriteStarted => _firstWrite.Task;

        public void Release() => _gate.TrySetResult();

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
        {
            _firstWrite.TrySetResult();
            await _gate.Task;
            Lines.Add(Encoding.UTF8.GetString(line.Span));
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
