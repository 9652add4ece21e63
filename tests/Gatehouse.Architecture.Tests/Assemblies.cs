using System.Reflection;
using Mono.Cecil;
using NetArchTest.Rules;

namespace Gatehouse.Tests.Architecture;

/// <summary>The three product assemblies, loaded from the test's output directory.</summary>
internal static class Assemblies
{
    /// <summary>Gatehouse.Core: no ASP.NET Core; tokens, policy, decisions, audit, configuration.</summary>
    public static Assembly Core { get; } = Assembly.Load(new AssemblyName("Gatehouse.Core"));

    /// <summary>Gatehouse.Proxy: the ASP.NET Core hosts.</summary>
    public static Assembly Proxy { get; } = Assembly.Load(new AssemblyName("Gatehouse.Proxy"));

    /// <summary>Gatehouse.DevCa: the development CA (ADR-0010), used by the CLI and by tests.</summary>
    public static Assembly DevCa { get; } = Assembly.Load(new AssemblyName("Gatehouse.DevCa"));

    /// <summary>The <c>gatehouse</c> executable: CLI commands and the demo.</summary>
    public static Assembly Cli { get; } = Assembly.Load(new AssemblyName("gatehouse"));

    /// <summary>Every type the compiler emitted for <paramref name="assembly"/>'s own namespaces, as Mono.Cecil
    /// definitions (NetArchTest's view), nested and compiler-generated types included: a lambda's closure or an async
    /// state machine is where a method body's references live.</summary>
    public static IReadOnlyList<TypeDefinition> TypesOf(Assembly assembly, string rootNamespace)
    {
        var seen = new HashSet<TypeDefinition>();
        var result = new List<TypeDefinition>();
        var collector = new Collector();
        _ = Types.InAssembly(assembly).That().ResideInNamespaceStartingWith(rootNamespace).And().MeetCustomRule(collector).GetTypes().Count();
        foreach (var type in collector.Seen)
        {
            AddWithNested(type, seen, result);
        }
        return result;
    }

    /// <summary>NetArchTest hands each selected type's Mono.Cecil definition to a custom rule; this one keeps them.</summary>
    private sealed class Collector : ICustomRule
    {
        public List<TypeDefinition> Seen { get; } = [];

        public bool MeetsRule(TypeDefinition type)
        {
            Seen.Add(type);
            return true;
        }
    }

    private static void AddWithNested(TypeDefinition type, HashSet<TypeDefinition> seen, List<TypeDefinition> into)
    {
        if (!seen.Add(type))
        {
            return;
        }
        into.Add(type);
        foreach (var nested in type.NestedTypes)
        {
            AddWithNested(nested, seen, into);
        }
    }
}
