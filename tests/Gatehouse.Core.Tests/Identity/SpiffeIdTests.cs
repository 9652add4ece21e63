using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Tests.Identity;

public sealed class SpiffeIdTests
{
    [Theory]
    [InlineData("spiffe://example.org", "example.org", "")]
    [InlineData("spiffe://example.org/workload", "example.org", "/workload")]
    [InlineData("spiffe://cluster.local/ns/shop/sa/checkout", "cluster.local", "/ns/shop/sa/checkout")]
    [InlineData("spiffe://a-b_c.0/Path.With-Mixed_Case/9", "a-b_c.0", "/Path.With-Mixed_Case/9")]
    [InlineData("spiffe://td/..a/a..", "td", "/..a/a..")]
    public void Valid_ids_parse(string value, string trustDomain, string path)
    {
        Assert.True(SpiffeId.TryParse(value, out var id, out var error), error);
        Assert.Equal(trustDomain, id.TrustDomain);
        Assert.Equal(path, id.Path);
        Assert.Equal(value, id.ToString());
    }

    [Theory]
    [InlineData(null, SpiffeIdErrors.Empty)]
    [InlineData("", SpiffeIdErrors.Empty)]
    [InlineData("https://example.org/x", SpiffeIdErrors.WrongScheme)]
    [InlineData("spiffe:example.org/x", SpiffeIdErrors.WrongScheme)]
    [InlineData("spiffe:/example.org/x", SpiffeIdErrors.WrongScheme)]
    [InlineData("SPIFFE://example.org/x", SpiffeIdErrors.SchemeNotLowerCase)]
    [InlineData("spiffe://", SpiffeIdErrors.TrustDomainEmpty)]
    [InlineData("spiffe:///path", SpiffeIdErrors.TrustDomainEmpty)]
    [InlineData("spiffe://Example.org/x", SpiffeIdErrors.TrustDomainNotLowerCase)]
    [InlineData("spiffe://example.org:8443/x", SpiffeIdErrors.PortNotAllowed)]
    [InlineData("spiffe://user@example.org/x", SpiffeIdErrors.UserInfoNotAllowed)]
    [InlineData("spiffe://example.org?q=1", SpiffeIdErrors.QueryNotAllowed)]
    [InlineData("spiffe://example.org/x?q=1", SpiffeIdErrors.QueryNotAllowed)]
    [InlineData("spiffe://example.org/x#frag", SpiffeIdErrors.FragmentNotAllowed)]
    [InlineData("spiffe://exa mple.org/x", SpiffeIdErrors.TrustDomainInvalidCharacter)]
    [InlineData("spiffe://exämple.org/x", SpiffeIdErrors.TrustDomainInvalidCharacter)]
    [InlineData("spiffe://example.org/", SpiffeIdErrors.TrailingSlash)]
    [InlineData("spiffe://example.org/a/", SpiffeIdErrors.TrailingSlash)]
    [InlineData("spiffe://example.org//a", SpiffeIdErrors.EmptySegment)]
    [InlineData("spiffe://example.org/a//b", SpiffeIdErrors.EmptySegment)]
    [InlineData("spiffe://example.org/./a", SpiffeIdErrors.DotSegment)]
    [InlineData("spiffe://example.org/a/..", SpiffeIdErrors.DotSegment)]
    [InlineData("spiffe://example.org/a%20b", SpiffeIdErrors.PathInvalidCharacter)]
    [InlineData("spiffe://example.org/a b", SpiffeIdErrors.PathInvalidCharacter)]
    [InlineData("spiffe://example.org/ä", SpiffeIdErrors.PathInvalidCharacter)]
    public void Invalid_ids_are_rejected_with_a_reason(string? value, string expected)
    {
        Assert.False(SpiffeId.TryParse(value, out var id, out var error));
        Assert.Null(id);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Length_limits_are_enforced()
    {
        var longest = "spiffe://td/" + new string('a', SpiffeId.MaxLength - "spiffe://td/".Length);
        Assert.True(SpiffeId.TryParse(longest, out _));
        Assert.False(SpiffeId.TryParse(longest + "a", out _, out var error));
        Assert.Equal(SpiffeIdErrors.TooLong, error);

        Assert.True(SpiffeId.TryParse("spiffe://" + new string('a', 255), out _));
        Assert.False(SpiffeId.TryParse("spiffe://" + new string('a', 256), out _, out error));
        Assert.Equal(SpiffeIdErrors.TrustDomainTooLong, error);
    }

    [Theory]
    [InlineData("spiffe://cluster.local/ns/shop/sa/checkout", "shop", "checkout")]
    [InlineData("spiffe://cluster.local/ns/shop/sa", null, null)]
    [InlineData("spiffe://cluster.local/ns/shop/sa/checkout/extra", null, null)]
    [InlineData("spiffe://cluster.local/ns/shop/serviceaccount/checkout", null, null)]
    [InlineData("spiffe://cluster.local", null, null)]
    public void Kubernetes_helpers(string value, string? ns, string? sa)
    {
        var id = SpiffeId.Parse(value);
        Assert.Equal(ns, id.Namespace);
        Assert.Equal(sa, id.ServiceAccount);
    }

    [Fact]
    public void Equality_is_ordinal_and_trust_domain_id_is_derived()
    {
        var a = SpiffeId.Parse("spiffe://td/a");
        Assert.Equal(a, SpiffeId.FromParts("td", "/a"));
        Assert.NotEqual(a, SpiffeId.Parse("spiffe://td/A"));
        Assert.True(a == SpiffeId.Parse("spiffe://td/a"));
        Assert.Equal("spiffe://td", a.TrustDomainId.Value);
        Assert.True(a.IsMemberOf("td"));
        Assert.False(a.IsMemberOf("td2"));
    }
}
