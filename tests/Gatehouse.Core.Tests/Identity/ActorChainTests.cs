using Gatehouse.Model;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Identity;
using Gatehouse.Identity.Profiles;

namespace Gatehouse.Tests.Identity;

public sealed class ActorChainTests
{
    private static ActorChain Parse(string json) => ActorChain.Parse(JsonDocument.Parse(json).RootElement);

    /// <summary>A chain of <paramref name="depth"/> nested act objects: actor-1 (current) … actor-N.</summary>
    private static string Nested(int depth)
    {
        var json = "";
        for (var i = depth; i >= 1; i--)
        {
            json = i == depth ? $$"""{"sub":"actor-{{i}}"}""" : $$"""{"sub":"actor-{{i}}","act":{{json}}}""";
        }

        return $$"""{"sub":"alice","act":{{json}}}""";
    }

    [Fact]
    public void No_act_is_no_delegation()
    {
        var chain = Parse("""{"sub":"alice"}""");
        Assert.Same(ActorChain.None, chain);
        Assert.Equal(0, chain.Depth);
        Assert.Null(chain.Current);
        Assert.True(chain.IsUsable);
    }

    [Fact]
    public void Rfc8693_section_4_1_example_reads_current_actor_first()
    {
        // RFC 8693 §4.1, the nested example: admin@example.com acting, consul.example.com acted before it.
        var chain = Parse("""
            {"aud":"https://service16.example.com","iss":"https://issuer.example.com","exp":1443904100,"nbf":1443904000,
             "sub":"user@example.com",
             "act":{"sub":"https://service16.example.com","act":{"sub":"https://service77.example.com"}}}
            """);

        Assert.True(chain.IsUsable);
        Assert.Equal(2, chain.Depth);
        Assert.Equal("https://service16.example.com", chain.Current!.Subject);
        Assert.Equal(["https://service16.example.com", "https://service77.example.com"], chain.Actors.Select(a => a.Id));
    }

    [Fact]
    public void Actor_members_sub_client_id_and_iss_are_kept_and_others_ignored()
    {
        var chain = Parse("""{"sub":"alice","act":{"sub":"agent","client_id":"agent-app","iss":"https://sts.example/","exp":1,"aud":"x"}}""");

        var actor = Assert.Single(chain.Actors);
        Assert.Equal(new Actor("agent", "agent-app", "https://sts.example/"), actor);
        Assert.Equal("agent", actor.Id);
    }

    [Fact]
    public void Actor_identified_by_client_id_only()
    {
        var chain = Parse("""{"sub":"alice","act":{"client_id":"billing-agent"}}""");

        Assert.True(chain.IsUsable);
        Assert.Equal("billing-agent", chain.Current!.Id);
        Assert.Null(chain.Current.Subject);
    }

    [Fact]
    public void May_act_is_not_a_chain()
    {
        // RFC 8693 §4.4: may_act names who may act; it is not delegation that happened.
        var chain = Parse("""{"sub":"alice","may_act":{"sub":"billing-agent"}}""");
        Assert.Equal(0, chain.Depth);
        Assert.True(chain.IsUsable);
    }

    public sealed record MalformedCase(string Name, string Json, string Error)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<MalformedCase> Malformed => new()
    {
        new("act is a string", """{"sub":"a","act":"agent"}""", "act:not_an_object"),
        new("act is an array", """{"sub":"a","act":[{"sub":"agent"}]}""", "act:not_an_object"),
        new("act is null", """{"sub":"a","act":null}""", "act:not_an_object"),
        new("nested act is a number", """{"sub":"a","act":{"sub":"agent","act":7}}""", "act.act:not_an_object"),
        new("act identifies no one", """{"sub":"a","act":{"iss":"https://sts/"}}""", "act:no_sub_or_client_id"),
        new("empty act object", """{"sub":"a","act":{}}""", "act:no_sub_or_client_id"),
        new("sub is a number", """{"sub":"a","act":{"sub":42}}""", "act.sub:not_a_string"),
        new("client_id is an array", """{"sub":"a","act":{"sub":"x","client_id":["y"]}}""", "act.client_id:not_a_string"),
        new("iss is an object", """{"sub":"a","act":{"sub":"x","iss":{}}}""", "act.iss:not_a_string"),
        new("sub is empty", """{"sub":"a","act":{"sub":""}}""", "act.sub:empty"),
        new("sub is over 1024 characters", "{\"sub\":\"a\",\"act\":{\"sub\":\"" + new string('x', 1025) + "\"}}", "act.sub:too_long"),
        new("third level is malformed", """{"sub":"a","act":{"sub":"x","act":{"sub":"y","act":{"client_id":false}}}}""", "act.act.act.client_id:not_a_string"),
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_act_is_an_error_with_its_path(MalformedCase c)
    {
        var chain = Parse(c.Json);

        Assert.Equal(c.Error, chain.Error);
        Assert.False(chain.IsUsable);
        Assert.False(chain.TooDeep);
    }

    [Fact]
    public void Depth_up_to_the_parse_bound_is_read_whole()
    {
        var chain = Parse(Nested(ActorChain.MaxParseDepth));

        Assert.True(chain.IsUsable);
        Assert.Equal(ActorChain.MaxParseDepth, chain.Depth);
        Assert.Equal("actor-1", chain.Current!.Id);
        Assert.Equal($"actor-{ActorChain.MaxParseDepth}", chain.Actors[^1].Id);
    }

    [Fact]
    public void Deeper_than_the_parse_bound_is_too_deep_and_never_usable()
    {
        var chain = Parse(Nested(ActorChain.MaxParseDepth + 1));

        Assert.True(chain.TooDeep);
        Assert.False(chain.IsUsable);
        Assert.Null(chain.Error);
        Assert.Equal(ActorChain.MaxParseDepth, chain.Depth);
    }

    [Fact]
    public void Hostile_nesting_stops_at_the_bound()
    {
        // System.Text.Json itself refuses documents nested deeper than 64; the chain reader stops well before.
        var chain = Parse(Nested(60));
        Assert.True(chain.TooDeep);
        Assert.Equal(ActorChain.MaxParseDepth, chain.Depth);
    }

    [Fact]
    public void Introspection_answer_with_act_builds_the_chain()
    {
        // RFC 7662 §2.2 answers may carry any claim; RFC 8693 §4.1 act is read from them as from a JWT payload.
        var answer = JsonDocument.Parse("""
            {"active":true,"sub":"alice","client_id":"portal","act":{"client_id":"billing-agent","act":{"sub":"planner"}}}
            """).RootElement;

        var principal = ClaimProfiles.CreatePrincipal(answer, new IssuerConfig { Name = "as", Issuer = "https://as.example/" }, workload: null);

        Assert.Equal(["billing-agent", "planner"], principal.Actors.Select(a => a.Id));
        Assert.Equal("portal", principal.ClientId);
    }

    [Fact]
    public void Principal_keeps_the_chain_when_seen_from_a_workload()
    {
        var claims = JsonDocument.Parse("""{"sub":"alice","act":{"sub":"agent"}}""").RootElement;
        var principal = ClaimProfiles.CreatePrincipal(claims, new IssuerConfig { Name = "corp", Issuer = "https://idp/" }, workload: null);

        var moved = principal.WithWorkload("spiffe://td/ns/a/sa/b");

        Assert.Same(principal.Delegation, moved.Delegation);
    }
}
