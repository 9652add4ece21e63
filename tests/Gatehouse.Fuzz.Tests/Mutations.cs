using CsCheck;

namespace Gatehouse.Fuzz.Tests;

/// <summary>
/// Inputs for the property tests: a target's seeds mutated the way a fuzzer would (byte flips, inserted tokens that
/// matter to the parsers, deletions, duplications), so the properties explore near valid inputs, not only noise.
/// </summary>
internal static class Mutations
{
    /// <summary>Fragments that change how the parsers read their input.</summary>
    private static readonly string[] Interesting =
    [
        "/", "//", ".", "..", "%2e", "%2E%2e", "%2F", "%5c", "%00", "%0d%0a", "\r\n", "\0", "\\", ";", "%3B", "%", "%zz",
        "\"", "\\\"", ",", "=", "{", "}", "[", "]", ":", "null", "true", "1e308", "-0", "\\u0000", "\\ud800", "é",
        "eyJ", ".", "==", "-", "_", "+", "spiffe://", "URI=", "By=", "Subject=\"", "alg", "none", "kid", "crit", "act",
        "\n  ", "- ", ": ", "&a", "*a", "!!binary", "version: 1\n", "\t", "#",
    ];

    public static Gen<byte[]> Of(string target)
    {
        var seeds = Seeds(target);
        return Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[1, 6].SelectMany(n => Gen.Select(Gen.Int[0, 4], Gen.Int[0, 1 << 20], Gen.Int[0, Interesting.Length - 1], Gen.Byte).Array[n]))
            .Select(t => Apply(seeds[t.Item1], t.Item2));
    }

    private static byte[] Apply(byte[] seed, (int Op, int Position, int Token, byte Value)[] edits)
    {
        var bytes = new List<byte>(seed);
        foreach (var (op, position, token, value) in edits)
        {
            var at = bytes.Count == 0 ? 0 : position % (bytes.Count + 1);
            switch (op)
            {
                case 0 when at < bytes.Count:
                    bytes[at] = value;
                    break;
                case 1:
                    bytes.InsertRange(at, System.Text.Encoding.UTF8.GetBytes(Interesting[token]));
                    break;
                case 2 when at < bytes.Count:
                    bytes.RemoveRange(at, Math.Min(1 + (position & 7), bytes.Count - at));
                    break;
                case 3 when at < bytes.Count:
                    bytes.InsertRange(at, bytes.GetRange(at, Math.Min(1 + (position & 15), bytes.Count - at)));
                    break;
                default:
                    bytes.Insert(at, value);
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[][] Seeds(string target)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "corpus", target);
        return [.. Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)];
    }
}
