using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary><c>admin:</c> (the console) and the warning <c>check</c> gives for a console reachable beyond loopback unprotected.</summary>
public sealed class AdminConsoleConfigTests
{
    private static ConfigLoadResult Load(string adminAddress, string extra = "", string listenerExtra = "")
    {
        var directory = Gatehouse.Testing.TestTemp.CreateDirectory("admin-console-");
        File.WriteAllText(Path.Combine(directory, "ui-secret"), "x");
        var yaml = $$"""
            version: 1
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:8080" }
              - { name: admin, mode: admin, address: "{{adminAddress}}"{{listenerExtra}} }
            routes: []
            {{extra}}
            """;
        return ConfigLoader.LoadYaml(yaml, "g.yaml", directory, new Dictionary<string, string>());
    }

    [Theory]
    [InlineData("0.0.0.0:9901")]
    [InlineData("10.1.2.3:9901")]
    [InlineData("[::]:9901")]
    public void ConsoleBeyondLoopback_WithoutSecretOrMtls_IsAWarningNotAnError(string address)
    {
        var result = Load(address);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("listeners.admin.address", warning.Path);
        Assert.Equal(4, warning.Line);
        Assert.Contains("ui_token_file", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:9901", "")]
    [InlineData("[::1]:9901", "")]
    [InlineData("localhost:9901", "")]
    [InlineData("0.0.0.0:9901", "admin: { ui_token_file: ui-secret }")]
    [InlineData("0.0.0.0:9901", "admin: { ui: false }")]
    public void ConsoleOnLoopback_OrProtected_OrOff_GivesNoWarning(string address, string extra)
    {
        var result = Load(address, extra);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void AdminSection_BindsEveryKey_AndChecksRanges()
    {
        var good = Load("127.0.0.1:9901", "admin: { ui: true, ui_token_file: ui-secret, ui_window: 30m, ui_max_decisions: 200 }");
        Assert.True(good.IsValid, string.Join('\n', good.Errors));
        Assert.Equal(TimeSpan.FromMinutes(30), good.Config!.Admin.UiWindow);
        Assert.Equal(200, good.Config.Admin.UiMaxDecisions);
        Assert.EndsWith("ui-secret", good.Config.Admin.UiTokenFile, StringComparison.Ordinal);

        var bad = Load("127.0.0.1:9901", "admin: { ui_window: 5s, ui_max_decisions: 10, ui_colour: red }");
        Assert.Contains(bad.Errors, e => e.Path == "admin.ui_window");
        Assert.Contains(bad.Errors, e => e.Path == "admin.ui_max_decisions");
        Assert.Contains(bad.Errors, e => e.Path == "admin.ui_colour");
    }
}
