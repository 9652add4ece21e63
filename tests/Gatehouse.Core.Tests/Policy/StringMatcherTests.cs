using Gatehouse.Policy;

namespace Gatehouse.Tests.Policy;

/// <summary>
/// Istio's string match (exact, <c>prefix*</c>, <c>*suffix</c>, <c>*</c> = present) that every policy field uses:
/// which patterns compile, what each kind matches at its edges, and that the configured comparison is honoured.
/// </summary>
public sealed class StringMatcherTests
{
    [Theory]
    [InlineData("")]
    [InlineData("a*b")]
    [InlineData("**")]
    [InlineData("*a*")]
    [InlineData("a**")]
    [InlineData("**a")]
    [InlineData("*a*b")]
    public void Patterns_WithAStarInside_OrEmpty_AreRefused(string pattern)
    {
        Assert.False(StringMatcher.TryCreate(pattern, StringComparison.Ordinal, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("*", "Presence", "")]
    [InlineData("/orders", "Exact", "/orders")]
    [InlineData("/orders/*", "Prefix", "/orders/")]
    [InlineData("*.json", "Suffix", ".json")]
    [InlineData("a*", "Prefix", "a")]
    [InlineData("*a", "Suffix", "a")]
    public void Patterns_CompileToTheirKind(string pattern, string kind, string value)
    {
        Assert.True(StringMatcher.TryCreate(pattern, StringComparison.Ordinal, out var matcher, out var error), error);
        Assert.Null(error);
        Assert.Equal(kind, matcher.Kind.ToString());
        Assert.Equal(value, matcher.Value);
    }

    [Theory]
    [InlineData("*", "x", true)]
    [InlineData("*", "", false)]
    [InlineData("/orders", "/orders", true)]
    [InlineData("/orders", "/orders/", false)]
    [InlineData("/orders", "/order", false)]
    [InlineData("/orders", "/ORDERS", false)]
    [InlineData("/orders/*", "/orders/", true)]
    [InlineData("/orders/*", "/orders/1", true)]
    [InlineData("/orders/*", "/orders", false)]
    [InlineData("/orders/*", "/x/orders/1", false)]
    [InlineData("*.json", ".json", true)]
    [InlineData("*.json", "/a.json", true)]
    [InlineData("*.json", "/a.json/x", false)]
    [InlineData("*.json", "/a.JSON", false)]
    public void Ordinal_MatchesOnlyWhatItSays(string pattern, string value, bool expected)
    {
        Assert.True(StringMatcher.TryCreate(pattern, StringComparison.Ordinal, out var matcher, out _));

        Assert.Equal(expected, matcher.IsMatch(value));
    }

    [Theory]
    [InlineData("api.example.com", "API.Example.COM", true)]
    [InlineData("*.example.com", "X.EXAMPLE.COM", true)]
    [InlineData("api.*", "API.other", true)]
    [InlineData("api.example.com", "api.example.org", false)]
    public void IgnoreCase_IsHonouredByEveryKind(string pattern, string value, bool expected)
    {
        Assert.True(StringMatcher.TryCreate(pattern, StringComparison.OrdinalIgnoreCase, out var matcher, out _));

        Assert.Equal(expected, matcher.IsMatch(value));
    }

    [Fact]
    public void Default_MatchesNothing()
    {
        // A matcher that failed to compile (default) must never match: fail closed.
        Assert.False(default(StringMatcher).IsMatch("anything"));
    }
}
