namespace Gatehouse.Tests.Architecture;

/// <summary>
/// The direction inside Core (docs/architecture.md, "Who may use whom"): Model is the leaf everyone shares,
/// Configuration sits just above it, the token and policy engines do not know each other, and only the hosts use the
/// decision engine. Each rule reads the folder graph computed from the compiled types.
/// </summary>
public sealed class CoreLayerTests
{
    private const string Model = "Gatehouse.Model";
    private const string Configuration = "Gatehouse.Configuration";
    private const string Tokens = "Gatehouse.Tokens";
    private const string Policy = "Gatehouse.Policy";
    private const string Decisions = "Gatehouse.Decisions";
    private const string Audit = "Gatehouse.Audit";
    private const string Diagnostics = "Gatehouse.Diagnostics";

    public static TheoryData<string> CoreFolders() => [.. CoreGraph.Folders.Nodes];

    [Fact]
    public void Model_UsesNoOtherGatehouseFolder()
    {
        var used = CoreGraph.Folders.Targets(Model).ToList();

        Assert.True(used.Count == 0,
            "Model/ is the shared vocabulary and depends on nothing in Gatehouse; move what it needs into Model/ or "
            + "leave the member to the folder that owns it: " + Edges(Model, used));
    }

    [Fact]
    public void Configuration_UsesOnlyModel()
    {
        var used = CoreGraph.Folders.Targets(Configuration).Where(t => t != Model).ToList();

        Assert.True(used.Count == 0,
            "Configuration/ sits below the engines: it parses its own value types (IpBlock, IssuerTemplate live there) "
            + "and never uses an engine; move the parsing into Configuration/: " + Edges(Configuration, used));
    }

    [Theory]
    [InlineData(Tokens, Policy)]
    [InlineData(Policy, Tokens)]
    [InlineData(Audit, Diagnostics)]
    public void Folder_DoesNotUse(string from, string to)
    {
        Assert.True(!CoreGraph.Folders.HasEdge(from, to),
            $"{from} must not use {to} (they are independent; what both need goes to Model/ or Configuration/, and "
            + "Audit reports its counters through IAuditMetrics): " + (CoreGraph.Folders.HasEdge(from, to) ? CoreGraph.Folders.Describe(from, to) : ""));
    }

    [Theory]
    [MemberData(nameof(CoreFolders))]
    public void OnlyTheHosts_UseTheDecisionEngine(string folder)
    {
        // Decisions/ is the orchestrator on top of Core; the hosts (Proxy, CLI) call it, nothing in Core does.
        Assert.True(folder == Decisions || !CoreGraph.Folders.HasEdge(folder, Decisions),
            $"{folder} must not use the decision engine (Decisions/ is on top; only Proxy and the CLI call it); move the "
            + "shared type into Model/: " + (CoreGraph.Folders.HasEdge(folder, Decisions) ? CoreGraph.Folders.Describe(folder, Decisions) : ""));
    }

    [Fact]
    public void TheRules_SeeTheFoldersTheyName()
    {
        // A rule about a folder the graph does not see (renamed, or an empty graph) would pass without checking anything.
        foreach (var folder in new[] { Model, Configuration, Tokens, Policy, Decisions, Audit, Diagnostics })
        {
            Assert.Contains(folder, CoreGraph.Folders.Nodes);
        }
        Assert.True(CoreGraph.Folders.HasEdge(Decisions, Tokens));
        Assert.True(CoreGraph.Folders.HasEdge(Tokens, Configuration));
        Assert.True(CoreGraph.Folders.HasEdge(Diagnostics, Audit));
    }

    private static string Edges(string from, IEnumerable<string> targets) =>
        string.Join("; ", targets.Select(t => CoreGraph.Folders.Describe(from, t)));
}
