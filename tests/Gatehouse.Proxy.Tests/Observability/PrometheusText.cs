using System.Globalization;
using System.Text.RegularExpressions;

namespace Gatehouse.Tests.Observability;

public sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string LabelKey(params string[] except) =>
        string.Join(",", Labels.Where(l => !except.Contains(l.Key)).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}

public sealed record PromFamily(string Name, string Type, List<PromSample> Samples);

/// <summary>
/// A strict parser of the Prometheus text exposition format 0.0.4: every line must parse; TYPE once per family and
/// before its samples; a family's samples contiguous; no duplicate series; histogram buckets cumulative with
/// <c>+Inf</c> equal to <c>_count</c>. Throws <see cref="FormatException"/> naming the line on any violation.
/// </summary>
public static partial class PrometheusText
{
    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    public static Dictionary<string, PromFamily> Parse(string text)
    {
        var families = new Dictionary<string, PromFamily>(StringComparer.Ordinal);
        var series = new HashSet<string>(StringComparer.Ordinal);
        var closed = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[1] is "TYPE" or "HELP")
                {
                    if (!MetricName().IsMatch(parts[2]))
                    {
                        throw new FormatException($"line {lineNumber}: bad metric name in '{line}'");
                    }
                    if (parts[1] == "TYPE")
                    {
                        var type = parts.Length == 4 ? parts[3] : throw new FormatException($"line {lineNumber}: TYPE without a type");
                        if (type is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
                        {
                            throw new FormatException($"line {lineNumber}: unknown type '{type}'");
                        }
                        if (families.ContainsKey(parts[2]))
                        {
                            throw new FormatException($"line {lineNumber}: second TYPE for {parts[2]}");
                        }
                        families[parts[2]] = new PromFamily(parts[2], type, []);
                        Switch(parts[2]);
                    }
                }
                continue;
            }

            var sample = ParseSample(line, lineNumber);
            var family = FamilyOf(sample.Name, families) ?? throw new FormatException($"line {lineNumber}: sample {sample.Name} has no TYPE before it");
            Switch(family.Name);
            if (!series.Add(sample.Name + "{" + sample.LabelKey() + "}"))
            {
                throw new FormatException($"line {lineNumber}: duplicate series {sample.Name}{{{sample.LabelKey()}}}");
            }
            family.Samples.Add(sample);
        }

        foreach (var family in families.Values.Where(f => f.Type == "histogram"))
        {
            CheckHistogram(family);
        }
        return families;

        void Switch(string name)
        {
            if (current == name)
            {
                return;
            }
            if (current is not null)
            {
                closed.Add(current);
            }
            if (closed.Contains(name))
            {
                throw new FormatException($"line {lineNumber}: samples of {name} are not contiguous");
            }
            current = name;
        }
    }

    private static PromFamily? FamilyOf(string sampleName, Dictionary<string, PromFamily> families)
    {
        if (families.TryGetValue(sampleName, out var exact))
        {
            return exact;
        }
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && families.TryGetValue(sampleName[..^suffix.Length], out var family)
                && family.Type is "histogram" or "summary")
            {
                return family;
            }
        }
        return null;
    }

    private static PromSample ParseSample(string line, int lineNumber)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
        {
            i++;
        }
        var name = line[..i];
        if (!MetricName().IsMatch(name))
        {
            throw new FormatException($"line {lineNumber}: bad metric name '{name}'");
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (line[i] == '}')
                {
                    i++;
                    break;
                }
                var equals = line.IndexOf('=', i);
                var labelName = line[i..equals];
                if (!LabelName().IsMatch(labelName))
                {
                    throw new FormatException($"line {lineNumber}: bad label name '{labelName}'");
                }
                if (line[equals + 1] != '"')
                {
                    throw new FormatException($"line {lineNumber}: label value not quoted");
                }
                var value = new System.Text.StringBuilder();
                i = equals + 2;
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] switch
                        {
                            'n' => '\n',
                            '\\' => '\\',
                            '"' => '"',
                            _ => throw new FormatException($"line {lineNumber}: bad escape \\{line[i]}"),
                        });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                    i++;
                }
                i++;
                if (!labels.TryAdd(labelName, value.ToString()))
                {
                    throw new FormatException($"line {lineNumber}: duplicate label {labelName}");
                }
                if (line[i] == ',')
                {
                    i++;
                }
                else if (line[i] != '}')
                {
                    throw new FormatException($"line {lineNumber}: expected ',' or '}}' at {i}");
                }
            }
        }
        if (i >= line.Length || line[i] != ' ')
        {
            throw new FormatException($"line {lineNumber}: expected a space before the value");
        }
        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2)
        {
            throw new FormatException($"line {lineNumber}: expected 'value [timestamp]'");
        }
        var number = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"line {lineNumber}: bad value '{rest[0]}'"),
        };
        if (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            throw new FormatException($"line {lineNumber}: bad timestamp '{rest[1]}'");
        }
        return new PromSample(name, labels, number);
    }

    private static void CheckHistogram(PromFamily family)
    {
        foreach (var group in family.Samples.GroupBy(s => s.LabelKey("le")))
        {
            var buckets = group.Where(s => s.Name == family.Name + "_bucket").ToList();
            var count = group.SingleOrDefault(s => s.Name == family.Name + "_count") ?? throw new FormatException($"{family.Name}{{{group.Key}}}: no _count");
            _ = group.SingleOrDefault(s => s.Name == family.Name + "_sum") ?? throw new FormatException($"{family.Name}{{{group.Key}}}: no _sum");
            if (buckets.Count == 0 || buckets.Any(b => !b.Labels.ContainsKey("le")))
            {
                throw new FormatException($"{family.Name}{{{group.Key}}}: buckets missing or without le");
            }
            var ordered = buckets.Select(b => (Le: b.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(b.Labels["le"], CultureInfo.InvariantCulture), b.Value)).ToList();
            for (var k = 1; k < ordered.Count; k++)
            {
                if (ordered[k].Le <= ordered[k - 1].Le || ordered[k].Value < ordered[k - 1].Value)
                {
                    throw new FormatException($"{family.Name}{{{group.Key}}}: buckets not ascending/cumulative at le={ordered[k].Le}");
                }
            }
            if (!double.IsPositiveInfinity(ordered[^1].Le) || ordered[^1].Value != count.Value)
            {
                throw new FormatException($"{family.Name}{{{group.Key}}}: +Inf bucket missing or != _count");
            }
        }
    }
}
