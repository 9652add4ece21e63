namespace Gatehouse.Runtime;

/// <summary>A route compiled from <see cref="Configuration.RouteConfig"/> into a config snapshot.</summary>
public sealed class CompiledRoute
{
    public required string Name { get; init; }
}
