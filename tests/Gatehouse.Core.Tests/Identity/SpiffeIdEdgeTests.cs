using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Tests.Identity;

/// <summary>
/// SPIFFE-ID §2 at the edges Stryker found unpinned: the first and last character of every allowed range in the trust
/// domain and in path segments, upper-case trust domains reported as such, the trust-domain-only ID, null and invalid
/// trust domains, equality with null, and the throwing helpers.
/// </summary>
public sealed class SpiffeIdEdgeTests
{
    [Theory]
    [InlineData("spiffe://az09.-_/p")]
    [InlineData("spiffe://z/p")]
    [InlineData("spiffe://9/p")]
    [InlineData("spiffe://a/azAZ09.-_")]
    [InlineData("spiffe://a/z/Z/0/9/A")]
    public void EdgeCharacters_OfEveryAllowedRange_AreAccepted(string value)
    {
        Assert.True(SpiffeId.TryParse(value, out var id, out var error), error);
        Assert.Equal(value, id.Value);
    }

    [Theory]
    [InlineData("spiffe://A/p")]
    [InlineData("spiffe://Z/p")]
    [InlineData("spiffe://aZ/p")]
    public void UpperCaseTrustDomains_AreRefused_AsUpperCase(string value)
    {
        Assert.False(SpiffeId.TryParse(value, out _, out var error));
        Assert.Equal(SpiffeIdErrors.TrustDomainNotLowerCase, error);
    }

    [Theory]
    [InlineData("spiffe://{/p")] // after 'z'
    [InlineData("spiffe://`/p")] // before 'a'
    [InlineData("spiffe://:/p")] // after '9' (a port separator)
    [InlineData("spiffe:///p")] // empty trust domain
    [InlineData("spiffe://a/{")]
    [InlineData("spiffe://a/[")] // after 'Z'
    [InlineData("spiffe://a/@x")] // before 'A'
    [InlineData("spiffe://a//x")]
    [InlineData("spiffe://a/x/")]
    public void CharactersJustOutsideTheRanges_AndEmptyParts_AreRefused(string value)
    {
        Assert.False(SpiffeId.TryParse(value, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void TrustDomainId_IsTheIdWithoutPath()
    {
        var id = SpiffeId.Parse("spiffe://td.example/ns/a/sa/b");
        var domain = SpiffeId.Parse("spiffe://td.example");

        Assert.Equal("spiffe://td.example", id.TrustDomainId.Value);
        Assert.Equal("", id.TrustDomainId.Path);
        Assert.Same(domain, domain.TrustDomainId);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("td.example", true)]
    [InlineData("TD.example", false)]
    [InlineData("td:443", false)]
    public void IsValidTrustDomain(string? trustDomain, bool expected) =>
        Assert.Equal(expected, SpiffeId.IsValidTrustDomain(trustDomain));

    [Fact]
    public void Equality_WithNull_AndByValue()
    {
        var a = SpiffeId.Parse("spiffe://td/a");
        SpiffeId? none = null;

        Assert.False(a == none);
        Assert.False(none == a);
        Assert.True(none == null);
        Assert.True(a != none);
        Assert.True(a == SpiffeId.Parse("spiffe://td/a"));
        Assert.False(a != SpiffeId.Parse("spiffe://td/a"));
        Assert.True(a != SpiffeId.Parse("spiffe://td/b"));
    }

    [Fact]
    public void ThrowingHelpers_NameTheError()
    {
        var parse = Assert.Throws<ArgumentException>(() => SpiffeId.Parse("https://td/a"));
        Assert.StartsWith("Invalid SPIFFE ID: ", parse.Message, StringComparison.Ordinal);
        var parts = Assert.Throws<ArgumentException>(() => SpiffeId.FromParts("TD", "/a"));
        Assert.Contains(SpiffeIdErrors.TrustDomainNotLowerCase, parts.Message, StringComparison.Ordinal);
    }
}
