using System.Text;
using System.Text.Json;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>The shared decision cache's wire form: every field the answer and the audit read survives the trip.</summary>
public sealed class DecisionCodecTests
{
    private static readonly DateTimeOffset s_exp = DateTimeOffset.FromUnixTimeSeconds(1_900_000_000);

    private static Decision Full()
    {
        using var claims = JsonDocument.Parse("""{"sub":"checkout","scope":"a b","act":{"sub":"orders","act":{"client_id":"gw"}},"n":[1,{"x":null}]}""");
        return new Decision
        {
            Outcome = DecisionOutcome.Allow,
            StatusCode = 200,
            Reasons = ["policy.allow:orders/rule0", "audit:x"],
            Challenge = "Bearer error=\"insufficient_scope\"",
            RouteName = "orders",
            NormalizedPath = "/orders/1",
            DecidingPolicy = "orders/rule0",
            Principal = new Principal
            {
                Workload = "spiffe://a.test/ns/shop/sa/checkout",
                Issuer = "https://idp.test/",
                IssuerName = "corp",
                Subject = "checkout",
                ClientId = "checkout-client",
                Scopes = new HashSet<string>(["a", "b"], StringComparer.Ordinal),
                Roles = new HashSet<string>(["clerk"], StringComparer.Ordinal),
                Claims = claims.RootElement.Clone(),
                Delegation = ActorChain.Parse(claims.RootElement.Clone()),
            },
            Token = new TokenFacts
            {
                Fingerprint = "0123456789abcdef",
                Kid = "k1",
                Jti = "j1",
                Issuer = "https://idp.test/",
                IssuerName = "corp",
                Algorithm = "ES256",
                ExpiresAt = s_exp,
                Kind = "opaque",
            },
            UpstreamHeaders = [new("x-auth-subject", "checkout"), new("x-auth-scope", "a b")],
            ResponseHeaders = [new("DPoP-Nonce", "n1")],
            RemoveHeaders = ["authorization", "x-auth-subject"],
            Recorded = ["dry/rule1"],
            Transaction = new TransactionFacts("9f2c1e0a7b3d4c5e8f60718293a4b5c6", ["spiffe://a.test/ns/edge/sa/gateway", "spiffe://a.test/ns/shop/sa/orders"], "checkout"),
            ValidUntil = s_exp,
        };
    }

    [Fact]
    public void RoundTrip_KeepsEveryField()
    {
        var original = Full();
        var until = s_exp.AddSeconds(-30);

        var copy = DecisionCodec.TryDecode(DecisionCodec.Encode(original, until));

        Assert.NotNull(copy);
        Assert.Equal(original.Outcome, copy.Outcome);
        Assert.Equal(original.StatusCode, copy.StatusCode);
        Assert.Equal(original.Reasons, copy.Reasons);
        Assert.Equal(original.Challenge, copy.Challenge);
        Assert.Equal(original.RouteName, copy.RouteName);
        Assert.Equal(original.NormalizedPath, copy.NormalizedPath);
        Assert.Equal(original.DecidingPolicy, copy.DecidingPolicy);
        Assert.Equal(original.Token, copy.Token);
        Assert.Equal(original.UpstreamHeaders, copy.UpstreamHeaders);
        Assert.Equal(original.ResponseHeaders, copy.ResponseHeaders);
        Assert.Equal(original.RemoveHeaders, copy.RemoveHeaders);
        Assert.Equal(original.Recorded, copy.Recorded);
        Assert.Equal(original.Transaction!.Id, copy.Transaction!.Id);
        Assert.Equal(original.Transaction.RequestingWorkloads, copy.Transaction.RequestingWorkloads);
        Assert.Equal((original.Transaction.Route, original.Transaction.Verified), (copy.Transaction.Route, copy.Transaction.Verified));
        // The stored validity is cut to the shared entry's expiry.
        Assert.Equal(until, copy.ValidUntil);
        var p = copy.Principal!;
        Assert.Equal((original.Principal!.Workload, original.Principal.Issuer, original.Principal.IssuerName, original.Principal.Subject, original.Principal.ClientId),
            (p.Workload, p.Issuer, p.IssuerName, p.Subject, p.ClientId));
        Assert.True(p.Scopes.SetEquals(["a", "b"]));
        Assert.True(p.Roles.SetEquals(["clerk"]));
        Assert.Equal(original.Principal.Claims.GetRawText(), p.Claims.GetRawText());
        Assert.Equal(["orders", "gw"], p.Actors.Select(a => a.Id));
    }

    [Fact]
    public void DenialWithoutPrincipal_RoundTrips_AndKeepsItsOwnEarlierValidity()
    {
        var denial = new Decision { Outcome = DecisionOutcome.Deny, StatusCode = 401, Reasons = ["token.missing"], ValidUntil = s_exp.AddSeconds(-60) };

        var copy = DecisionCodec.TryDecode(DecisionCodec.Encode(denial, s_exp));

        Assert.NotNull(copy);
        Assert.False(copy.Allowed);
        Assert.Null(copy.Principal);
        Assert.Null(copy.Token);
        Assert.Equal(s_exp.AddSeconds(-60), copy.ValidUntil);
    }

    [Fact]
    public void EveryDecisionProperty_IsKnownToTheCodec()
    {
        // A new Decision property must be added to DecisionCodec (or listed here as not stored, with the reason):
        // otherwise a decision answered from the shared tier would silently lack it.
        string[] known =
        [
            "Outcome", "StatusCode", "Reasons", "Challenge", "RouteName", "NormalizedPath", "DecidingPolicy", "Principal",
            "Token", "Transaction", "UpstreamHeaders", "ResponseHeaders", "RemoveHeaders", "Recorded", "ValidUntil", "Allowed",
            "Trace", // ext_authz decides without a trace
        ];
        Assert.Equal(known.Order(StringComparer.Ordinal), typeof(Decision).GetProperties().Select(p => p.Name).Order(StringComparer.Ordinal));
        string[] principal = ["Actors", "Claims", "ClientId", "Delegation", "HasToken", "Issuer", "IssuerName", "Roles", "Scopes", "Subject", "Workload"];
        Assert.Equal(principal, typeof(Principal).GetProperties().Where(p => !p.GetMethod!.IsStatic).Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"v":2,"o":"allow","s":200}""")]
    [InlineData("""{"v":1,"o":"maybe","s":200}""")]
    [InlineData("""{"v":1,"o":"allow"}""")]
    [InlineData("""{"v":1,"o":"allow","s":200,"r":[1]}""")]
    [InlineData("""{"v":1,"o":"allow","s":200,"uh":[["a"]]}""")]
    [InlineData("""{"v":1,"o":"allow","s":200,"t":{"kid":"k"}}""")]
    [InlineData("""{"v":1,"o":"allow","s":200,"vu":"soon"}""")]
    public void Unreadable_IsAMiss_NeverAnException(string stored)
    {
        Assert.Null(DecisionCodec.TryDecode(Encoding.UTF8.GetBytes(stored)));
    }
}
