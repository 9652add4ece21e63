using System.Globalization;
using System.Text.RegularExpressions;

namespace Gatehouse.Tests.Observability;

public sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

public sealed record PromFamily(string Name, string Type, List<PromSample> Samples);

/// <summary>
/// Reads the values out of a <c>/metrics</c> scrape: families by their <c>TYPE</c> line, samples by name and labels.
/// It does not judge the format — promtool does (<see cref="TestSupport.Promtool"/>) — so it stays small.
/// </summary>
public static partial class PrometheusText
{
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex("""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)",?""")]
    private static partial Regex Label();

    public static Dictionary<string, PromFamily> Parse(string text)
    {
        var families = new Dictionary<string, PromFamily>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                families[parts[2]] = new PromFamily(parts[2], parts[3], []);
                continue;
            }

            if (line.Length == 0 || line.StartsWith('#') || Sample().Match(line) is not { Success: true } match)
            {
                continue;
            }

            var name = match.Groups["name"].Value;
            var labels = Label().Matches(match.Groups["labels"].Value).ToDictionary(
                m => m.Groups["key"].Value,
                m => m.Groups["value"].Value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal),
                StringComparer.Ordinal);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            var family = families.GetValueOrDefault(name)
                ?? new[] { "_bucket", "_sum", "_count" }.Where(s => name.EndsWith(s, StringComparison.Ordinal))
                    .Select(s => families.GetValueOrDefault(name[..^s.Length])).FirstOrDefault(f => f is not null);
            family?.Samples.Add(new PromSample(name, labels, value));
        }

        return families;
    }
}
