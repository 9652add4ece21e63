using Gatehouse.Decisions;

namespace Gatehouse.Tests.Decisions;

/// <summary>RFC 6750 §3 challenges: what a client is told, in every mode (ext_authz passes them through Envoy).</summary>
public sealed class ChallengesTests
{
    [Fact]
    public void InsufficientScope_ForAPolicyDenial_NamesTheCodeNotThePolicy()
    {
        var challenge = Challenges.InsufficientScope("policy.deny_matched:block-admin/rule0", scope: null);

        Assert.Equal("Bearer realm=\"gatehouse\", error=\"insufficient_scope\", error_description=\"policy.deny_matched\"", challenge);
    }

    [Fact]
    public void InsufficientScope_ForAMissingScope_KeepsTheScopeAttribute()
    {
        var challenge = Challenges.InsufficientScope("scope.missing:orders.write", "orders.write");

        Assert.Equal("Bearer realm=\"gatehouse\", error=\"insufficient_scope\", error_description=\"scope.missing\", scope=\"orders.write\"", challenge);
    }

    [Fact]
    public void InvalidToken_CarriesTheCodeOnly()
    {
        Assert.Equal("Bearer realm=\"gatehouse\", error=\"invalid_token\", error_description=\"token.expired\"", Challenges.InvalidToken("token.expired"));
        Assert.DoesNotContain("xfcc", Challenges.InvalidToken("peer.certificate_invalid:xfcc_unparsable"), StringComparison.Ordinal);
    }

    [Fact]
    public void HostileText_IsPercentEncoded()
    {
        Assert.Equal("Bearer realm=\"gatehouse\", error=\"insufficient_scope\", error_description=\"scope.missing\", scope=\"a%22b%5C%0D%0A\"", Challenges.InsufficientScope("scope.missing:a\"b\\", "a\"b\\\r\n"));
    }
}
