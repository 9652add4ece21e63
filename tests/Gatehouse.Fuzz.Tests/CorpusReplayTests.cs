namespace Gatehouse.Fuzz.Tests;

/// <summary>
/// Every checked-in seed (fuzz/corpus/TARGET) and every input that ever crashed a target (fuzz/regressions/TARGET)
/// runs through its target: seeds keep the fuzzer's starting points meaningful, regressions keep fixed bugs fixed.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "corpus", "regressions" })
        {
            var root = Path.Combine(AppContext.BaseDirectory, kind);
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var target = Path.GetFileName(Path.GetDirectoryName(file)!);
                data.Add(target, Path.GetRelativePath(AppContext.BaseDirectory, file));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Input_KeepsEveryInvariantOfItsTarget(string target, string file)
    {
        var fuzzTarget = FuzzTargets.Find(target);
        Assert.True(fuzzTarget is not null, $"{file}: no fuzz target named '{target}'");
        fuzzTarget.Run(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, file)));
    }

    [Fact]
    public void EveryTarget_HasASeedCorpus()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "corpus");
        var missing = FuzzTargets.All.Where(t => !Directory.Exists(Path.Combine(root, t.Name)) || !Directory.EnumerateFiles(Path.Combine(root, t.Name)).Any())
            .Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0, $"targets without seeds in fuzz/corpus: {string.Join(", ", missing)}");
    }
}
