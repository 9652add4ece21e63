using NetArchTest.Rules;

namespace Gatehouse.Tests.Architecture;

/// <summary>
/// The assemblies point one way: the executable (CLI) → the hosts (Proxy) → Core. Core stays host-agnostic (no
/// ASP.NET Core, no YARP), so every host shares one decision engine.
/// </summary>
public sealed class CoreDependencyTests
{
    [Fact]
    public void Core_ReferencesNoAspNetCoreAssembly()
    {
        var references = Assemblies.Core.GetReferencedAssemblies().Select(a => a.Name ?? "").ToList();

        Assert.Contains("Microsoft.IdentityModel.Tokens", references);
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, name => name.StartsWith("Yarp", StringComparison.Ordinal));
    }

    [Fact]
    public void Core_UsesNeitherTheHostsNorTheCli()
    {
        var references = Assemblies.Core.GetReferencedAssemblies().Select(a => a.Name).ToList();
        var result = Types.InAssembly(Assemblies.Core).ShouldNot().HaveDependencyOnAny("Gatehouse.Proxy", "Gatehouse.Cli", "Gatehouse.DevCa").GetResult();

        Assert.DoesNotContain("Gatehouse.Proxy", references);
        Assert.DoesNotContain("Gatehouse.DevCa", references);
        Assert.DoesNotContain("gatehouse", references);
        Assert.True(result.IsSuccessful, "Core must not use the hosts or the CLI; move the shared part into Core: " + Offenders(result));
    }

    [Fact]
    public void Proxy_DoesNotUseTheCli()
    {
        var references = Assemblies.Proxy.GetReferencedAssemblies().Select(a => a.Name).ToList();
        var result = Types.InAssembly(Assemblies.Proxy).ShouldNot().HaveDependencyOn("Gatehouse.Cli").GetResult();

        Assert.Contains("Gatehouse.Core", references);
        Assert.DoesNotContain("gatehouse", references);
        Assert.True(result.IsSuccessful, "The hosts must not use the CLI; move the shared part into Proxy or Core: " + Offenders(result));
    }

    [Fact]
    public void DevCa_UsesOnlyCore()
    {
        var references = Assemblies.DevCa.GetReferencedAssemblies().Select(a => a.Name).ToList();
        var result = Types.InAssembly(Assemblies.DevCa).ShouldNot().HaveDependencyOnAny("Gatehouse.Proxy", "Gatehouse.Cli").GetResult();

        Assert.Contains("Gatehouse.Core", references);
        Assert.True(result.IsSuccessful, "The development CA must not use the hosts or the CLI: " + Offenders(result));
    }

    internal static string Offenders(TestResult result) =>
        string.Join(", ", result.FailingTypeNames ?? []);
}
