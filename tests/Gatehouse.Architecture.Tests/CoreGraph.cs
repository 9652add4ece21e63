namespace Gatehouse.Tests.Architecture;

/// <summary>The namespace graphs of Gatehouse.Core, built once per test run.</summary>
internal static class CoreGraph
{
    /// <summary>Core's folders as nodes: <c>Gatehouse.Tokens</c> stands for Tokens/ and everything below it.</summary>
    public static NamespaceGraph Folders { get; } = NamespaceGraph.Build(
        Assemblies.TypesOf(Assemblies.Core, "Gatehouse"), "Gatehouse.", FolderOf);

    /// <summary>Every namespace of Core as its own node.</summary>
    public static NamespaceGraph Namespaces { get; } = NamespaceGraph.Build(
        Assemblies.TypesOf(Assemblies.Core, "Gatehouse"), "Gatehouse.", static ns => ns);

    /// <summary><c>Gatehouse.Tokens.Jwt</c> → <c>Gatehouse.Tokens</c>: the top-level folder of a namespace.</summary>
    public static string FolderOf(string ns)
    {
        var first = ns.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : ns.IndexOf('.', first + 1);
        return second < 0 ? ns : ns[..second];
    }
}
