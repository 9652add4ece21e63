using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Gatehouse.Tests.Diagnostics;

/// <summary>
/// A strict parser of the Prometheus text exposition format 0.0.4, used to check the exporter in-process
/// (promtool checks it too when present). Throws <see cref="FormatException"/> with the line number on any
/// violation.
/// </summary>
internal static partial class PrometheusTextParser
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public sealed class Family(string name)
    {
        public string Name { get; } = name;
        public string? Type { get; set; }
        public string? Help { get; set; }
        public List<Sample> Samples { get; } = [];
    }

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    public static Dictionary<string, Family> Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            throw new FormatException("exposition must end with a newline");
        }

        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        var finished = new HashSet<string>(StringComparer.Ordinal);
        var seriesSeen = new HashSet<string>(StringComparer.Ordinal);
        Family? current = null;
        var lines = text.Split('\n');
        for (var n = 0; n < lines.Length - 1; n++)
        {
            var line = lines[n];
            var at = $"line {n + 1}: '{line}'";
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[1] is "HELP" or "TYPE")
                {
                    var name = parts[2];
                    if (!MetricName().IsMatch(name))
                    {
                        throw new FormatException($"{at}: bad metric name");
                    }

                    var family = Enter(name);
                    if (parts[1] == "TYPE")
                    {
                        if (family.Type is not null || family.Samples.Count > 0)
                        {
                            throw new FormatException($"{at}: TYPE repeated or after samples");
                        }

                        family.Type = parts.Length == 4 ? parts[3] : throw new FormatException($"{at}: TYPE without type");
                        if (family.Type is not ("counter" or "gauge" or "histogram" or "summary" or "untyped"))
                        {
                            throw new FormatException($"{at}: unknown type");
                        }
                    }
                    else
                    {
                        if (family.Help is not null)
                        {
                            throw new FormatException($"{at}: HELP repeated");
                        }

                        family.Help = parts.Length == 4 ? UnescapeHelp(parts[3], at) : "";
                    }
                }

                continue;
            }

            var sample = ParseSample(line, at);
            var familyName = FamilyOf(sample.Name, current);
            var target = Enter(familyName);
            if (!seriesSeen.Add(sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key).Select(l => l.Key + "=" + l.Value)) + "}"))
            {
                throw new FormatException($"{at}: duplicate series");
            }

            target.Samples.Add(sample);
            continue;

            Family Enter(string name)
            {
                if (current?.Name == name)
                {
                    return current;
                }

                if (current is not null)
                {
                    finished.Add(current.Name);
                }

                if (finished.Contains(name))
                {
                    throw new FormatException($"{at}: family {name} is not contiguous");
                }

                current = families.TryGetValue(name, out var existing) ? existing : families[name] = new Family(name);
                return current;
            }
        }

        foreach (var family in families.Values)
        {
            Check(family);
        }

        return families;
    }

    private static string FamilyOf(string sampleName, Family? current)
    {
        if (current is { Type: "histogram" })
        {
            foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
            {
                if (sampleName == current.Name + suffix)
                {
                    return current.Name;
                }
            }
        }

        return sampleName;
    }

    private static void Check(Family family)
    {
        switch (family.Type)
        {
            case "counter":
                if (!family.Name.EndsWith("_total", StringComparison.Ordinal))
                {
                    throw new FormatException($"counter {family.Name} lacks _total");
                }

                if (family.Samples.Any(s => s.Value < 0 || double.IsNaN(s.Value)))
                {
                    throw new FormatException($"counter {family.Name} has a negative or NaN value");
                }

                break;
            case "histogram":
                foreach (var group in family.Samples.GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key).Select(l => l.Key + "=" + l.Value))))
                {
                    var buckets = group.Where(s => s.Name == family.Name + "_bucket").ToList();
                    var count = group.SingleOrDefault(s => s.Name == family.Name + "_count") ?? throw new FormatException($"{family.Name}{{{group.Key}}}: no _count");
                    _ = group.SingleOrDefault(s => s.Name == family.Name + "_sum") ?? throw new FormatException($"{family.Name}{{{group.Key}}}: no _sum");
                    if (buckets.Count == 0 || buckets[^1].Labels.GetValueOrDefault("le") != "+Inf")
                    {
                        throw new FormatException($"{family.Name}{{{group.Key}}}: last bucket is not le=\"+Inf\"");
                    }

                    var previousLe = double.NegativeInfinity;
                    var previousCount = 0.0;
                    foreach (var bucket in buckets)
                    {
                        var le = ParseValue(bucket.Labels["le"], family.Name);
                        if (le <= previousLe || bucket.Value < previousCount)
                        {
                            throw new FormatException($"{family.Name}{{{group.Key}}}: buckets not increasing/cumulative at le={le}");
                        }

                        previousLe = le;
                        previousCount = bucket.Value;
                    }

                    if (buckets[^1].Value != count.Value)
                    {
                        throw new FormatException($"{family.Name}{{{group.Key}}}: +Inf bucket != _count");
                    }
                }

                break;
            case "gauge":
                if (family.Name.EndsWith("_total", StringComparison.Ordinal))
                {
                    throw new FormatException($"gauge {family.Name} ends with _total");
                }

                break;
            case null:
                throw new FormatException($"{family.Name} has no TYPE");
        }

        if (family.Help is null)
        {
            throw new FormatException($"{family.Name} has no HELP");
        }

        foreach (var sample in family.Samples)
        {
            if (family.Type != "histogram" && sample.Name != family.Name)
            {
                throw new FormatException($"sample {sample.Name} under family {family.Name}");
            }
        }
    }

    private static Sample ParseSample(string line, string at)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
        {
            i++;
        }

        var name = line[..i];
        if (!MetricName().IsMatch(name))
        {
            throw new FormatException($"{at}: bad metric name");
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var labelName = line[i..eq];
                if (!LabelName().IsMatch(labelName) || labelName.StartsWith("__", StringComparison.Ordinal))
                {
                    throw new FormatException($"{at}: bad label name '{labelName}'");
                }

                if (line[eq + 1] != '"')
                {
                    throw new FormatException($"{at}: label value not quoted");
                }

                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"{at}: bad escape"),
                        });
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                if (!labels.TryAdd(labelName, value.ToString()))
                {
                    throw new FormatException($"{at}: duplicate label {labelName}");
                }

                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
                else if (line[i] != '}')
                {
                    throw new FormatException($"{at}: expected , or }}");
                }
            }

            i++;
        }

        if (i >= line.Length || line[i] != ' ')
        {
            throw new FormatException($"{at}: expected a space before the value");
        }

        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length > 2)
        {
            throw new FormatException($"{at}: trailing content");
        }

        return new Sample(name, labels, ParseValue(rest[0], at));
    }

    private static double ParseValue(string text, string at) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"{at}: bad value '{text}'"),
    };

    private static string UnescapeHelp(string text, string at)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
                builder.Append(text[i] switch { '\\' => '\\', 'n' => '\n', _ => throw new FormatException($"{at}: bad HELP escape") });
            }
            else
            {
                builder.Append(text[i]);
            }
        }

        return builder.ToString();
    }
}
