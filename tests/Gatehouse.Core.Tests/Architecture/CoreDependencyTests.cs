using System.Reflection;

namespace Gatehouse.Tests.Architecture;

/// <summary>The core library must stay host-agnostic: no ASP.NET Core, so every host shares one decision engine.</summary>
public sealed class CoreDependencyTests
{
    private static readonly Assembly s_core = typeof(Gatehouse.Decisions.DecisionEngine).Assembly;

    [Fact]
    public void Core_ReferencesNoAspNetCoreAssembly()
    {
        var references = s_core.GetReferencedAssemblies().Select(a => a.Name ?? "").ToList();

        Assert.Contains("Microsoft.IdentityModel.Tokens", references);
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, name => name.StartsWith("Yarp", StringComparison.Ordinal));
    }

    [Fact]
    public void Core_NamespacesFollowFolders()
    {
        var allowed = new[]
        {
            "Gatehouse.Audit", "Gatehouse.Configuration", "Gatehouse.Decisions", "Gatehouse.Diagnostics",
            "Gatehouse.Identity", "Gatehouse.Interop", "Gatehouse.Policy", "Gatehouse.Routing", "Gatehouse.Runtime", "Gatehouse.State", "Gatehouse.Tokens",
        };
        var offenders = s_core.GetTypes()
            .Where(t => t.Namespace is not null && !t.Namespace.StartsWith("System", StringComparison.Ordinal) && !t.Namespace.StartsWith("Microsoft", StringComparison.Ordinal))
            .Where(t => !allowed.Any(a => t.Namespace == a || t.Namespace!.StartsWith(a + ".", StringComparison.Ordinal)))
            .Select(t => t.FullName)
            .ToList();

        Assert.Empty(offenders);
    }
}
