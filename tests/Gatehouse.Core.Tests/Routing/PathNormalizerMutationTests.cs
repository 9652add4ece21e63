using Gatehouse.Configuration;
using Gatehouse.Model;
using Gatehouse.Routing;

namespace Gatehouse.Tests.Routing;

/// <summary>
/// Path-normalization rules that survived mutation testing (docs/security.md, "Mutation testing", the routing set).
/// The path that is matched is the path that is forwarded, so each rule here decides whether a DENY can be walked
/// around: an encoded character that stays encoded, a control byte that reaches the upstream, a servlet-style
/// <c>..;</c> segment.
/// </summary>
public sealed class PathNormalizerMutationTests
{
    private static readonly PathNormalizationConfig Defaults = new();
    private static readonly PathNormalizationConfig PathParametersAllowed = new() { AllowPathParameters = true };

    [Theory]
    [InlineData("/a%01b")]
    [InlineData("/a%09b")]
    [InlineData("/a%0Ab")]
    [InlineData("/a%0db")]
    [InlineData("/a%1Fb")]
    [InlineData("/a%7Fb")]
    [InlineData("/a%7f")]
    public void EncodedControlCharacters_AreRefused_OnTheirOwn(string raw)
    {
        // Alone in the path: no raw space or other refused character later in it may be what refuses the request.
        var result = PathNormalizer.Normalize(raw, Defaults);

        Assert.False(result.Ok);
        Assert.Equal(ReasonCodes.PathInvalid, result.Reason);
    }

    [Theory]
    [InlineData("/a%20b", "/a%20b")]
    [InlineData("/a%21b", "/a%21b")]
    [InlineData("/a%7Eb", "/a~b")]
    [InlineData("/a%80b", "/a%80b")]
    public void EncodedBytesJustOutsideTheControlRanges_AreAccepted(string raw, string expected)
    {
        var result = PathNormalizer.Normalize(raw, Defaults);

        Assert.True(result.Ok, result.Detail);
        Assert.Equal(expected, result.Path);
    }

    [Theory]
    [InlineData("/public/..;/admin")]
    [InlineData("/public/..;jsessionid=1/admin")]
    [InlineData("/public/.;x=1/admin")]
    [InlineData("/public/%2e%2e;/admin")]
    [InlineData("/public/.%2E;/admin")]
    [InlineData("/public/..;")]
    public void DotSegmentsWithParameters_AreRefused_EvenWhenPathParametersAreAllowed(string raw)
    {
        // Tomcat reads "..;x" as "..": the segment would climb after matching, so it is ambiguous whatever the upstream.
        var result = PathNormalizer.Normalize(raw, PathParametersAllowed);

        Assert.False(result.Ok);
        Assert.Equal(ReasonCodes.PathAmbiguous, result.Reason);
    }

    [Theory]
    [InlineData("/a/;x/b", "/a/;x/b")]
    [InlineData("/a/...;x/b", "/a/...;x/b")]
    [InlineData("/a/x..;y/b", "/a/x..;y/b")]
    [InlineData("/a/.x;y/b", "/a/.x;y/b")]
    public void NameSegmentsWithParameters_AreKept_WhenPathParametersAreAllowed(string raw, string expected)
    {
        var result = PathNormalizer.Normalize(raw, PathParametersAllowed);

        Assert.True(result.Ok, result.Detail);
        Assert.Equal(expected, result.Path);
    }

    [Fact]
    public void EveryUnreservedRangeEdge_IsDecoded_AndCaseIsKept()
    {
        // RFC 3986 §2.3 and §6.2.2.2: %41 and %5A, %61 and %7A, %30 and %39 are the ends of the three ranges; an edge
        // left encoded would let "/ad%6Din" miss a rule on "/admin". Case is kept: lowercase_paths is off.
        var result = PathNormalizer.Normalize("/%41%5A%61%7A%30%39%2D%2E%5F%7E", Defaults);

        Assert.True(result.Ok, result.Detail);
        Assert.Equal("/AZaz09-._~", result.Path);
    }

    [Fact]
    public void TheNeighboursOfEachUnreservedRange_StayEncoded()
    {
        // '@' '[' '`' '{' '/'... ':' sit just outside A-Z, a-z and 0-9: reserved or unsafe, they stay percent-encoded.
        var result = PathNormalizer.Normalize("/%40%5B%60%7B%3A", Defaults);

        Assert.True(result.Ok, result.Detail);
        Assert.Equal("/%40%5B%60%7B%3A", result.Path);
    }

    [Theory]
    [InlineData("/%a0", "/%A0")]
    [InlineData("/x/%e9", "/x/%E9")]
    [InlineData("/x/%3a", "/x/%3A")]
    public void LowerCaseHexDigits_AreUpperCased_InEitherPosition(string raw, string expected)
    {
        // RFC 3986 §6.2.2.1: "%a0" and "%A0" are the same octet, and must match the same rules.
        var result = PathNormalizer.Normalize(raw, Defaults);

        Assert.True(result.Ok, result.Detail);
        Assert.Equal(expected, result.Path);
    }

    [Fact]
    public void PathsLongerThanTheStackBuffer_AreRewrittenWhole()
    {
        // Above 1,024 characters both rewrite buffers come from the heap; the result must be the same as below it.
        var name = new string('A', 1500);
        var lowered = PathNormalizer.Normalize("/" + name + "/x", new PathNormalizationConfig { LowercasePaths = true });
        var decoded = PathNormalizer.Normalize("/" + name + "/%7E/./y", Defaults);

        Assert.True(lowered.Ok, lowered.Detail);
        Assert.Equal("/" + new string('a', 1500) + "/x", lowered.Path);
        Assert.True(decoded.Ok, decoded.Detail);
        Assert.Equal("/" + name + "/~/y", decoded.Path);
    }
}
