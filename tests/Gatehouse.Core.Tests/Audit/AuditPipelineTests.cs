using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Diagnostics;

namespace Gatehouse.Tests.Audit;

public sealed class AuditPipelineTests
{
    private static readonly DateTimeOffset s_time = new(2026, 11, 22, 8, 0, 0, TimeSpan.Zero);

    private static AuditRecord Record(int i) =>
        AuditRecord.Create(AuditTestData.Allow(), AuditTestData.Request(path: "/orders/" + i), TimeSpan.FromMilliseconds(1), s_time, includeQuery: false)
            with
        { Path = "/orders/" + i };

    [Fact]
    public async Task TryWrite_UnderNormalLoad_WritesEveryRecordExactlyOnce()
    {
        const int Writers = 8;
        const int PerWriter = 1250;
        using var metrics = new GatehouseMetrics();
        using var collector = new MetricCollector(metrics.Meter);
        var sink = new MemorySink();
        var pipeline = new AuditPipeline(new AuditConfig { QueueCapacity = Writers * PerWriter }, [sink], metrics);

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                Assert.True(pipeline.TryWrite(Record((w * PerWriter) + i)));
            }
        })));
        await pipeline.DisposeAsync();

        Assert.Equal(Writers * PerWriter, sink.Lines.Count);
        var paths = sink.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("path").GetString()).ToHashSet();
        Assert.Equal(Writers * PerWriter, paths.Count);
        Assert.All(sink.Lines, l => Assert.EndsWith("}\n", l, StringComparison.Ordinal));
        Assert.Equal(0, pipeline.Dropped);
        Assert.Equal(Writers * PerWriter, pipeline.Written);
        Assert.Equal(Writers * PerWriter, collector.Sum("gatehouse.audit.records"));
        Assert.Equal(0, collector.Sum("gatehouse.audit.dropped"));
    }

    [Fact]
    public async Task TryWrite_WhenSinkIsBlocked_DropsAreCountedAndNeverBlock()
    {
        const int Capacity = 16;
        const int Attempts = 1000;
        using var metrics = new GatehouseMetrics();
        using var collector = new MetricCollector(metrics.Meter);
        var sink = new GatedSink();
        var pipeline = new AuditPipeline(new AuditConfig { QueueCapacity = Capacity }, [sink], metrics);

        // The consumer takes the first record and blocks inside the sink; then the queue fills.
        Assert.True(pipeline.TryWrite(Record(-1)));
        await sink.FirstWriteStarted.WaitAsync(TimeSpan.FromSeconds(10));

        // Note: "never blocks" needs no clock: the sink stays closed until after this loop, so a TryWrite that
        // waited for room would never return and the test would hang instead of passing.
        var accepted = 0;
        for (var i = 0; i < Attempts; i++)
        {
            if (pipeline.TryWrite(Record(i)))
            {
                accepted++;
            }
        }

        Assert.Equal(Capacity, accepted);
        Assert.Equal(Attempts - Capacity, pipeline.Dropped);
        Assert.Equal(Attempts - Capacity, collector.Sum("gatehouse.audit.dropped"));

        sink.Open();
        await pipeline.DisposeAsync();

        var lines = sink.Inner.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(1 + Capacity, lines.Count);
        Assert.Equal(Attempts - Capacity, lines.Sum(l => l.GetProperty("dropped_before").GetInt64()));
    }

    [Fact]
    public async Task DroppedBefore_IsCarriedByTheNextWrittenRecord()
    {
        var sink = new GatedSink();
        var pipeline = new AuditPipeline(new AuditConfig { QueueCapacity = 1 }, [sink]);
        Assert.True(pipeline.TryWrite(Record(0)));
        await sink.FirstWriteStarted.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(pipeline.TryWrite(Record(1)));
        Assert.False(pipeline.TryWrite(Record(2)));
        Assert.False(pipeline.TryWrite(Record(3)));

        sink.Open();
        await pipeline.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(pipeline.TryWrite(Record(4)));
        await pipeline.DisposeAsync();

        var dropped = sink.Inner.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("dropped_before").GetInt64()).ToList();
        // Record 0 was being written when the drops happened; record 1 is the first written after them.
        Assert.Equal([0L, 2L, 0L], dropped);
    }

    [Fact]
    public async Task ThrowingSink_IsCountedAndDoesNotStopOtherSinksOrLaterRecords()
    {
        using var metrics = new GatehouseMetrics();
        using var collector = new MetricCollector(metrics.Meter);
        var good = new MemorySink();
        var pipeline = new AuditPipeline(new AuditConfig(), [new ThrowingSink(), good], metrics);

        for (var i = 0; i < 10; i++)
        {
            pipeline.TryWrite(Record(i));
        }

        await pipeline.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        pipeline.TryWrite(Record(10));
        await pipeline.DisposeAsync();

        Assert.Equal(11, good.Lines.Count);
        Assert.True(pipeline.SinkErrors >= 11);
        Assert.Equal(pipeline.SinkErrors, collector.Sum("gatehouse.audit.sink_errors", ("sink", "broken")));
        Assert.True(good.Disposed);
    }

    [Fact]
    public async Task DisposeAsync_DrainsWhatIsQueued()
    {
        var sink = new GatedSink();
        var pipeline = new AuditPipeline(new AuditConfig { QueueCapacity = 500 }, [sink]);
        for (var i = 0; i < 500; i++)
        {
            Assert.True(pipeline.TryWrite(Record(i)));
        }

        var dispose = pipeline.DisposeAsync().AsTask();
        sink.Open();
        await dispose.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(500, sink.Inner.Lines.Count);
        Assert.False(pipeline.TryWrite(Record(501)));
        Assert.Equal(1, pipeline.Dropped);
    }

    [Fact]
    public async Task FlushAsync_MakesQueuedRecordsVisibleInTheFile()
    {
        var dir = new DirectoryInfo(Gatehouse.Testing.TestTemp.CreateDirectory("audit-"));
        try
        {
            var path = Path.Combine(dir.FullName, "audit.jsonl");
            var config = new AuditConfig { Path = path };
            await using var pipeline = AuditPipeline.FromConfig(config);
            for (var i = 0; i < 100; i++)
            {
                pipeline.TryWrite(AuditTestData.Allow(), AuditTestData.Request(), TimeSpan.FromMilliseconds(1), s_time);
            }

            await pipeline.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));

            using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            var lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(100, lines.Length);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task FlushAsync_WithNothingQueued_CompletesAtOnce()
    {
        await using var pipeline = new AuditPipeline(new AuditConfig(), [new MemorySink()]);

        await pipeline.FlushAsync().WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Output_NeverContainsTokensOrSecretsFromRequests()
    {
        var sink = new MemorySink();
        var logs = new CapturingLoggerProvider();
        var pipeline = new AuditPipeline(new AuditConfig { IncludeQuery = true }, [sink, new ThrowingSink()], logger: logs.CreateLogger("audit"));
        var query = $"?access_token={AuditTestData.QueryToken}&code={AuditTestData.Code}&client_secret={AuditTestData.ClientSecret}&id_token_hint={AuditTestData.Jwt}";
        pipeline.TryWrite(AuditTestData.Allow(), AuditTestData.Request(query: query), TimeSpan.FromMilliseconds(1), s_time);
        pipeline.TryWrite(AuditTestData.Deny(), AuditTestData.Request(query: query), TimeSpan.FromMilliseconds(1), s_time);
        await pipeline.DisposeAsync();

        var output = string.Concat(sink.Lines) + string.Join("\n", logs.Messages);
        Assert.Equal(2, sink.Lines.Count);
        Assert.NotEmpty(logs.Messages);
        foreach (var secret in AuditTestData.Secrets)
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }
    }
}
