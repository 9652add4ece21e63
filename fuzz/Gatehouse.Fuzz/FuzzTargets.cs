using Gatehouse.Fuzz.Targets;

namespace Gatehouse.Fuzz;

/// <summary>Every fuzz target, by name (the list <c>eng/fuzz.sh --list</c> prints).</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new JwtTarget(),
        new JwksTarget(),
        new PathTarget(),
        new XfccTarget(),
        new SpiffeIdTarget(),
        new ConfigTarget(),
        new ExtAuthzTarget(),
        new IstioTarget(),
        new DpopProofTarget(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal));
}
