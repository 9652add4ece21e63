using System.Text.RegularExpressions;
using Gatehouse.Audit;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Audit;

public sealed partial class EventIdRegistryTests
{
    [GeneratedRegex(@"\[LoggerMessage\((\d+),[^\]]*EventName = ""(\w+)""")]
    private static partial Regex LoggerMessage();

    [Theory]
    [InlineData("src/Gatehouse.Core/Audit/AuditLog.cs", 1400, 1449)]
    public void EveryLoggerMessage_IsInItsRangeAndRegistered(string source, int first, int last)
    {
        var code = File.ReadAllText(RepoPaths.Of(source.Split('/')));
        var registry = File.ReadAllText(RepoPaths.Of("docs", "event-ids.md"));
        var events = LoggerMessage().Matches(code).Select(m => (Id: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Name: m.Groups[2].Value)).ToList();

        Assert.NotEmpty(events);
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.All(events, e => Assert.InRange(e.Id, first, last));
        Assert.All(events, e => Assert.Contains($"| {e.Id} | {e.Name} |", registry, StringComparison.Ordinal));
        Assert.Contains($"Next free id: {events.Max(e => e.Id) + 1}", code, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pipeline_LogsDropsAndSinkFailuresWithTheirEventIds()
    {
        var logs = new CapturingLoggerProvider();
        var sink = new GatedSink();
        var pipeline = new AuditPipeline(new AuditConfig { QueueCapacity = 1 }, [sink, new ThrowingSink()], logger: logs.CreateLogger("audit"));
        var record = AuditRecord.Create(AuditTestData.Allow(), AuditTestData.Request(), TimeSpan.Zero, DateTimeOffset.UnixEpoch, includeQuery: false);
        pipeline.TryWrite(record);
        await sink.FirstWriteStarted.WaitAsync(TimeSpan.FromSeconds(10));
        pipeline.TryWrite(record);
        pipeline.TryWrite(record);
        sink.Open();
        await pipeline.DisposeAsync();

        var ids = logs.EventIds.Select(e => e.Id).ToHashSet();
        Assert.Contains(1400, ids);
        Assert.Contains(1401, ids);
        Assert.Contains(1402, ids);
        Assert.Contains(1403, ids);
        Assert.Contains(1405, ids);
    }
}
