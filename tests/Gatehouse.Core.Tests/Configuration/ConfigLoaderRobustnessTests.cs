using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary>Malformed input is an error value, never an exception (seeded mutation loop over the sample).</summary>
public sealed class ConfigLoaderRobustnessTests
{
    private const string Alphabet = ":{}[]-,#'\"\t\n &*!|>%@`?\\0123456789abc";

    [Fact]
    public void LoadYaml_MutatedSample_NeverThrows()
    {
        var samples = Path.Combine(ConfigTestFiles.RepositoryRoot(), "samples");
        var original = File.ReadAllText(Path.Combine(samples, "gateway.yaml"));
        var random = new Random(20261122);
        var environment = new Dictionary<string, string>();

        for (var iteration = 0; iteration < 600; iteration++)
        {
            var text = original.ToCharArray().ToList();
            for (var edits = random.Next(1, 6); edits > 0 && text.Count > 0; edits--)
            {
                var position = random.Next(text.Count);
                switch (random.Next(3))
                {
                    case 0:
                        text.RemoveAt(position);
                        break;
                    case 1:
                        text.Insert(position, Alphabet[random.Next(Alphabet.Length)]);
                        break;
                    default:
                        text[position] = Alphabet[random.Next(Alphabet.Length)];
                        break;
                }
            }

            var yaml = new string([.. text]);
            var result = ConfigLoader.LoadYaml(yaml, "fuzz.yaml", samples, environment);

            Assert.All(result.Errors, e => Assert.True(e.Line >= 1 && e.Column >= 1, yaml));
            Assert.Equal(result.IsValid, result.Config is not null && result.Errors.Count == 0);
        }
    }
}
