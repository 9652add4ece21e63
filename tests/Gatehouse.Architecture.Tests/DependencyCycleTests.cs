using Gatehouse.Tests.Architecture.Fixtures.CycleA;

namespace Gatehouse.Tests.Architecture;

/// <summary>
/// No cycle between Core's namespaces: the graph is computed from the compiled types, so a folder added tomorrow is
/// covered without editing this file. docs/architecture.md ("Who may use whom") says where a type goes instead.
/// </summary>
public sealed class DependencyCycleTests
{
    /// <summary>
    /// The parts of Tokens/ still use its root: ValidatedToken names the IssuerRuntime that owns the JWKS store and
    /// the introspection client, and the parts share the root's SecretFile, TokenLog and KeyState. These
    /// edges are the known debt, listed so that nothing new joins the cycle (a new Tokens/ sub-folder must not use the
    /// root); <see cref="KnownTokensEdges_AreAllStillPresent"/> fails when one is untangled, to shrink the list.
    /// </summary>
    private static readonly (string From, string To)[] s_knownTokensEdges =
    [
        ("Gatehouse.Tokens.Cache", "Gatehouse.Tokens"),
        ("Gatehouse.Tokens.Introspection", "Gatehouse.Tokens"),
        ("Gatehouse.Tokens.Jwks", "Gatehouse.Tokens"),
        ("Gatehouse.Tokens.Jwt", "Gatehouse.Tokens"),
    ];

    [Fact]
    public void CoreFolders_HaveNoDependencyCycle()
    {
        var cycles = CoreGraph.Folders.Cycles();

        Assert.True(cycles.Count == 0, Explain(CoreGraph.Folders, cycles, "folders"));
    }

    [Fact]
    public void CoreNamespaces_HaveNoDependencyCycle_BesidesTheKnownTokensEdges()
    {
        var graph = CoreGraph.Namespaces.Without(s_knownTokensEdges);

        var cycles = graph.Cycles();

        Assert.True(cycles.Count == 0, Explain(graph, cycles, "namespaces"));
    }

    [Fact]
    public void KnownTokensEdges_AreAllStillPresent()
    {
        var gone = s_knownTokensEdges.Where(e => !CoreGraph.Namespaces.HasEdge(e.From, e.To)).ToList();

        Assert.True(gone.Count == 0,
            "These namespaces no longer use each other; remove them from s_knownTokensEdges in "
            + "tests/Gatehouse.Architecture.Tests/DependencyCycleTests.cs so the rule covers them again: "
            + string.Join(", ", gone.Select(e => e.From + " → " + e.To)));
    }

    [Fact]
    public void Cycles_AreFoundAndNamedEdgeByEdge()
    {
        // Two fixture namespaces of this test assembly that use each other: the detector must report exactly that.
        var types = Assemblies.TypesOf(typeof(Left).Assembly, "Gatehouse.Tests.Architecture.Fixtures");
        var graph = NamespaceGraph.Build(types, "Gatehouse.Tests.Architecture.Fixtures", static ns => ns);

        var cycle = Assert.Single(graph.Cycles());

        Assert.Equal(
            ["Gatehouse.Tests.Architecture.Fixtures.CycleA", "Gatehouse.Tests.Architecture.Fixtures.CycleB", "Gatehouse.Tests.Architecture.Fixtures.CycleA"],
            cycle);
        Assert.Contains("Left uses Right", graph.Describe(cycle), StringComparison.Ordinal);
        Assert.Contains("Right uses Left", graph.Describe(cycle), StringComparison.Ordinal);
        Assert.Empty(graph.Without([("Gatehouse.Tests.Architecture.Fixtures.CycleB", "Gatehouse.Tests.Architecture.Fixtures.CycleA")]).Cycles());
    }

    private static string Explain(NamespaceGraph graph, IReadOnlyList<IReadOnlyList<string>> cycles, string what) =>
        $"Core's {what} must not use each other in a circle. Found {cycles.Count} cycle(s):{Environment.NewLine}"
        + string.Join(Environment.NewLine, cycles.Select(graph.Describe))
        + "Break each by moving the used type down (shared vocabulary → Model/, value parsing → Configuration/) or by "
        + "an interface or callback owned by the lower folder; see docs/architecture.md, \"Who may use whom\".";
}
