using Gatehouse.Tests.Architecture.Fixtures.CycleB;

namespace Gatehouse.Tests.Architecture.Fixtures.CycleA;

/// <summary>Half of a deliberate namespace cycle, for the detector's own test.</summary>
internal sealed class Left
{
    public Right? Partner { get; init; }
}
