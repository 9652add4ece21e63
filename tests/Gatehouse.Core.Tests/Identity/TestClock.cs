namespace Gatehouse.Tests.Identity;

/// <summary>A settable clock for identity tests (FakeTimeProvider is not available in this registry).</summary>
internal sealed class TestClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
