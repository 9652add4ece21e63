using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Http;
using Gatehouse.Identity.Certificates;
using Gatehouse.Policy;
using Gatehouse.Runtime;

namespace Gatehouse.Tests.Http;

/// <summary>The one header-value encoder: what each flavour does, and that no output ever holds a control character.</summary>
public sealed class HeaderValuesTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\r\nX-Admin: yes", "a%0D%0AX-Admin: yes")]
    [InlineData("nul\0del\u007f", "nul%00del%7F")]
    [InlineData("tab\there", "tab%09here")]
    [InlineData("100%", "100%25")]
    [InlineData("élise", "%C3%A9lise")]
    [InlineData("😀", "%F0%9F%98%80")]
    [InlineData(" edge ", "%20edge%20")]
    [InlineData("a,b;c=\"d\"", "a,b;c=\"d\"")]
    [InlineData("", "")]
    public void EncodeText_PercentEncodesControlsNonAsciiAndPercent(string input, string expected)
        => Assert.Equal(expected, HeaderValues.EncodeText(input));

    [Fact]
    public void EncodeListElement_AlsoEncodesTheComma()
        => Assert.Equal("a%2Cb", HeaderValues.EncodeListElement("a,b"));

    [Fact]
    public void EncodeAuthParam_AlsoEncodesQuoteAndBackslash()
        => Assert.Equal("a%22b%5Cc%0A", HeaderValues.EncodeAuthParam("a\"b\\c\n"));

    [Fact]
    public void LoneSurrogate_IsEncodedAsReplacementCharacter()
        => Assert.Equal("a%EF%BF%BDb", HeaderValues.EncodeText("a\ud800b"));

    [Theory]
    [InlineData("spiffe://td/a", false, "spiffe://td/a")]
    [InlineData("CN=x,O=y", false, "\"CN=x,O=y\"")]
    [InlineData("CN=x", true, "\"CN=x\"")]
    [InlineData("CN=a\r\nb", true, "\"CN=a%0D%0Ab\"")]
    [InlineData("CN=\"q\"\\", true, "\"CN=\\\"q\\\"\\\\\"")]
    [InlineData("50%", false, "50%")]
    [InlineData(" lead", false, "\" lead\"")]
    [InlineData("", false, "\"\"")]
    public void EncodeXfccValue_EncodesControlsThenQuotesLikeEnvoy(string input, bool forceQuotes, string expected)
        => Assert.Equal(expected, HeaderValues.EncodeXfccValue(input, forceQuotes));

    [Fact]
    public void SafeValues_AreReturnedAsTheSameInstance()
    {
        const string value = "spiffe://cluster.local/ns/shop/sa/checkout";
        Assert.Same(value, HeaderValues.EncodeText(value));
        Assert.Same(value, HeaderValues.EncodeListElement(value));
        Assert.Same(value, HeaderValues.EncodeAuthParam(value));
        Assert.Same(value, HeaderValues.EncodeXfccValue(value, forceQuotes: false));
        Assert.Same(value, HeaderValues.CheckedOrNull(value));
    }

    [Theory]
    [InlineData("ok value", true)]
    [InlineData("a\rb", false)]
    [InlineData("a\nb", false)]
    [InlineData("a\tb", false)]
    [InlineData("a\0b", false)]
    [InlineData("a\u007fb", false)]
    [InlineData("é", false)]
    public void CheckedOrNull_RefusesWhatIsNotVisibleAsciiOrSpace(string value, bool kept)
        => Assert.Equal(kept ? value : null, HeaderValues.CheckedOrNull(value));

    [Fact]
    public void Xfcc_ParseRefusesControlCharacters_AndAppendDropsAnUnsafeExistingValue()
    {
        Assert.Equal("control_character", Xfcc.Parse("URI=spiffe://td/a\r\nX: y").Error);
        var element = new XfccElement { Uris = ["spiffe://td/b"] };
        Assert.Equal("URI=spiffe://td/b", Xfcc.Append("URI=spiffe://td/a\nInjected: 1", element));
    }

    // Property: whatever text goes in (random UTF-16, including controls, lone surrogates and the XFCC and list
    // specials), every flavour's output is visible ASCII and SP only, and the percent-encoding flavours decode back
    // to the input (for inputs that are valid UTF-16).
    [Fact]
    public void Property_NoOutputEverHoldsAControlCharacter_AndEncodingIsReversible()
    {
        var random = new Random(20261206);
        for (var i = 0; i < 5000; i++)
        {
            var input = RandomText(random);
            foreach (var output in new[]
            {
                HeaderValues.EncodeText(input),
                HeaderValues.EncodeListElement(input),
                HeaderValues.EncodeAuthParam(input),
                HeaderValues.EncodeXfccValue(input, forceQuotes: false),
                HeaderValues.EncodeXfccValue(input, forceQuotes: true),
                Xfcc.Format(new XfccElement { By = input, Hash = input, Subject = input, Uris = [input], Dns = [input] }),
                Challenges.InsufficientScope("scope.missing:" + input, input),
                Challenges.InvalidToken(input),
            })
            {
                AssertSafe(output, input);
            }

            if (IsValidUtf16(input))
            {
                Assert.Equal(input, HeaderValues.Decode(HeaderValues.EncodeText(input)));
                Assert.Equal(input, HeaderValues.Decode(HeaderValues.EncodeListElement(input)));
                Assert.Equal(input, HeaderValues.Decode(HeaderValues.EncodeAuthParam(input)));
                Assert.False(HeaderValues.EncodeListElement(input).Contains(',', StringComparison.Ordinal));
            }
        }
    }

    // Property: random claim values (any JSON string, arrays of them, numbers) become claim header values that are
    // safe, and each list element decodes to the claim.
    [Fact]
    public void Property_ClaimHeaderValues_AreSafeForAnyClaim()
    {
        var random = new Random(7);
        var route = new CompiledRoute
        {
            Name = "r",
            Config = new RouteConfig { Name = "r" },
            Issuers = [],
            Policies = CompiledPolicySet.Compile([]),
            ClaimHeaders = [new("x-sub", "sub"), new("x-groups", "groups")],
            RemoveHeaders = [],
        };
        for (var i = 0; i < 2000; i++)
        {
            var sub = ValidText(random);
            var groups = Enumerable.Range(0, random.Next(0, 4)).Select(_ => ValidText(random)).ToArray();
            var json = JsonSerializer.Serialize(new { sub, groups });
            using var document = JsonDocument.Parse(json);

            var headers = DecisionEngine.ClaimHeaderValues(route, document.RootElement);

            foreach (var (_, value) in headers)
            {
                AssertSafe(value, json);
            }
            if (sub.Length > 0)
            {
                Assert.Equal(sub, HeaderValues.Decode(headers.Single(h => h.Key == "x-sub").Value));
            }
            var nonEmpty = groups.Where(g => g.Length > 0).ToArray();
            if (nonEmpty.Length > 0)
            {
                var decoded = headers.Single(h => h.Key == "x-groups").Value.Split(',').Select(HeaderValues.Decode);
                Assert.Equal(nonEmpty, decoded);
            }
        }
    }

    internal static void AssertSafe(string output, string input)
    {
        foreach (var c in output)
        {
            Assert.True(c is >= ' ' and <= '~', $"0x{(int)c:X2} in output for input {Escape(input)}");
        }
    }

    private static string Escape(string value) => JsonSerializer.Serialize(value);

    private static readonly string s_specials = "\r\n\0\t\u007f\u0085\u2028,;=\"\\% ";

    internal static string RandomText(Random random)
    {
        var length = random.Next(0, 24);
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            builder.Append(random.Next(4) switch
            {
                0 => (char)random.Next(0, 0x20),
                1 => s_specials[random.Next(s_specials.Length)],
                2 => (char)random.Next(0x20, 0x7F),
                _ => (char)random.Next(0x80, 0x10000),
            });
        }
        return builder.ToString();
    }

    private static string ValidText(Random random)
    {
        // Random bytes decoded as UTF-8 (invalid sequences become U+FFFD): valid UTF-16, any code point class.
        var bytes = new byte[random.Next(0, 20)];
        random.NextBytes(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    private static bool IsValidUtf16(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }
        return true;
    }
}
