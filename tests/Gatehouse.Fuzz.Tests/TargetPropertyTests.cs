using CsCheck;

namespace Gatehouse.Fuzz.Tests;

/// <summary>
/// The invariants of every fuzz target (see each target's summary) on mutated seeds. The inputs come from a fixed
/// master seed and a bounded number of iterations, so every run explores the same inputs and the suite stays fast.
/// A failure names the CsCheck seed of the failing input: <see cref="Reproduce"/> with it runs that input alone and
/// shrinks it; then add the input to fuzz/regressions/TARGET.
/// </summary>
public sealed class TargetPropertyTests
{
    private const ulong MasterSeed = 20261206;
    private const int Iterations = 3_000;

    public static TheoryData<string> Targets()
    {
        var data = new TheoryData<string>();
        foreach (var target in FuzzTargets.All)
        {
            data.Add(target.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void MutatedSeeds_KeepEveryInvariant(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var gen = Mutations.Of(name);
        var master = new PCG(1, MasterSeed);
        for (var i = 0; i < Iterations; i++)
        {
            var pcg = new PCG(master.Stream, master.Next64());
            var seed = pcg.ToString();
            var input = gen.Generate(pcg, null!, out _);
            try
            {
                target.Run(input);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"{name}: iteration {i}, CsCheck seed \"{seed}\", input (base64) {Convert.ToBase64String(input)}: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    /// <summary>Runs one failing input again from its seed and shrinks it (CsCheck prints the smallest failing input).</summary>
    internal static void Reproduce(string name, string seed) =>
        Mutations.Of(name).Sample(input => FuzzTargets.Find(name)!.Run(input), seed: seed, iter: 1, threads: 1,
            print: input => Convert.ToBase64String(input));
}
