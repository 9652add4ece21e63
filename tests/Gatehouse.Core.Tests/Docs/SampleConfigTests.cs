using System.Text.RegularExpressions;
using Gatehouse.Configuration;
using Gatehouse.Tests.Audit;

namespace Gatehouse.Tests.Docs;

/// <summary>
/// Every Gatehouse config a user may copy — the sample files, the configs embedded in the Kubernetes samples'
/// ConfigMaps, and the README's example — passes <c>gatehouse check</c>. Paths of files that only exist inside a
/// pod (mounted SVIDs and bundles) are the one error allowed.
/// </summary>
public sealed partial class SampleConfigTests
{
    private static readonly Dictionary<string, string> s_noEnvironment = [];

    [GeneratedRegex(@"^version:\s*1\s*$", RegexOptions.Multiline)]
    private static partial Regex TopLevelVersion();

    [GeneratedRegex(@"^(?<indent>[ ]+)[\w.-]+\.ya?ml:[ ]*\|[ ]*\n(?<body>(?:\k<indent>[ ]+.*\n|[ ]*\n)+)", RegexOptions.Multiline)]
    private static partial Regex EmbeddedYamlFile();

    [GeneratedRegex(@"```yaml\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex MarkdownYaml();

    public static TheoryData<string> SampleFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(RepoPaths.Of("samples"), "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(RepoPaths.Root, file).Replace('\\', '/'));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SampleFiles))]
    public void SampleConfig_PassesCheck(string relativePath)
    {
        var path = RepoPaths.Of(relativePath.Split('/'));
        var text = File.ReadAllText(path);
        var configs = new List<(string Name, string Yaml)>();
        if (TopLevelVersion().IsMatch(text) && !text.Contains("\napiVersion:", StringComparison.Ordinal))
        {
            configs.Add((relativePath, text));
        }
        foreach (Match embedded in EmbeddedYamlFile().Matches(text))
        {
            configs.Add(($"{relativePath} (embedded)", Unindent(embedded.Groups["body"].Value)));
        }
        if (configs.Count == 0)
        {
            return; // an Envoy, Istio or Kubernetes manifest with no Gatehouse config in it
        }

        foreach (var (name, yaml) in configs)
        {
            AssertChecks(name, yaml, Path.GetDirectoryName(path)!);
        }
    }

    [Fact]
    public void ReadmeExample_PassesCheck()
    {
        var readme = File.ReadAllText(RepoPaths.Of("README.md"));
        var examples = MarkdownYaml().Matches(readme).Select(m => m.Groups["body"].Value).Where(y => TopLevelVersion().IsMatch(y)).ToList();

        Assert.NotEmpty(examples);
        foreach (var yaml in examples)
        {
            AssertChecks("README.md", yaml, RepoPaths.Root);
        }
    }

    private static void AssertChecks(string name, string yaml, string baseDirectory)
    {
        var result = ConfigLoader.LoadYaml(yaml, name, baseDirectory, s_noEnvironment);
        var errors = result.Errors
            .Where(e => !(e.Message.StartsWith("file not found", StringComparison.Ordinal) && e.Message.Contains("'/var/run/", StringComparison.Ordinal)))
            .Select(e => e.ToString())
            .ToList();

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    private static string Unindent(string block)
    {
        var lines = block.Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart(' ')));
    }
}
