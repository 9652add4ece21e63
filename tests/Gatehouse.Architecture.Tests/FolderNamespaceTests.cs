using System.Reflection;
using Mono.Cecil;

namespace Gatehouse.Tests.Architecture;

/// <summary>
/// Folder = namespace, in every product assembly: a type compiled from <c>src/Gatehouse.Core/Tokens/Jwt/X.cs</c> is in
/// <c>Gatehouse.Tokens.Jwt</c>. Source files come from the PDBs (their paths are kept relative under
/// ContinuousIntegrationBuild's <c>/_/</c> mapping), so new folders are checked without a list to maintain.
/// </summary>
public sealed class FolderNamespaceTests
{
    public static TheoryData<string> Projects() => ["Gatehouse.Core", "Gatehouse.Proxy", "Gatehouse"];

    [Theory]
    [MemberData(nameof(Projects))]
    public void EveryType_IsInTheNamespaceOfItsFolder(string project)
    {
        var (assembly, rootNamespace) = project switch
        {
            "Gatehouse.Core" => (Assemblies.Core, "Gatehouse"),
            "Gatehouse.Proxy" => (Assemblies.Proxy, "Gatehouse.Proxy"),
            _ => (Assemblies.Cli, "Gatehouse.Cli"),
        };
        var marker = "src/" + project + "/";
        var checkedFiles = 0;
        var offenders = new SortedSet<string>(StringComparer.Ordinal);

        foreach (var (type, document) in TypesWithSources(assembly))
        {
            var path = document.Replace('\\', '/');
            var at = path.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0 || path.Contains("/obj/", StringComparison.Ordinal))
            {
                continue; // generated code (protobuf, source generators)
            }
            var folder = Path.GetDirectoryName(path[(at + marker.Length)..])!.Replace('\\', '/');
            var expected = folder.Length == 0 ? rootNamespace : rootNamespace + "." + folder.Replace('/', '.');
            checkedFiles++;
            if (type.Namespace != expected)
            {
                offenders.Add($"{path[at..]}: {type.FullName} should be in namespace {expected}");
            }
        }

        Assert.True(checkedFiles > 10, $"only {checkedFiles} source files found for {project}: are its PDBs next to the test?");
        Assert.True(offenders.Count == 0, "Move the file or change its namespace:" + Environment.NewLine + string.Join(Environment.NewLine, offenders));
    }

    private static IEnumerable<(TypeDefinition Type, string Document)> TypesWithSources(Assembly assembly)
    {
        using var module = ModuleDefinition.ReadModule(assembly.Location, new ReaderParameters { ReadSymbols = true });
        var pairs = new List<(TypeDefinition, string)>();
        foreach (var type in module.Types.Where(t => t.Namespace.Length > 0))
        {
            var documents = new HashSet<string>(StringComparer.Ordinal);
            Collect(type, documents);
            pairs.AddRange(documents.Select(d => (type, d)));
        }
        return pairs;
    }

    private static void Collect(TypeDefinition type, HashSet<string> documents)
    {
        foreach (var method in type.Methods)
        {
            foreach (var point in method.DebugInformation.SequencePoints)
            {
                documents.Add(point.Document.Url);
            }
        }
        foreach (var nested in type.NestedTypes)
        {
            Collect(nested, documents);
        }
    }
}
