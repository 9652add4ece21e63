using Gatehouse.Tests.Architecture.Fixtures.CycleA;

namespace Gatehouse.Tests.Architecture.Fixtures.CycleB;

/// <summary>The other half of a deliberate namespace cycle, for the detector's own test.</summary>
internal sealed class Right
{
    public static Left Create() => new();
}
