namespace Gatehouse.Routing;

/// <summary>Placeholder compiled route; filled in by the snapshot compiler.</summary>
public sealed class CompiledRoute
{
    public required string Name { get; init; }
}
