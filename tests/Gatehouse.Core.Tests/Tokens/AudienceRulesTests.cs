using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// The audience check (RFC 7519 §4.1.3, any-of) on both of its inputs — a JWT's <c>aud</c> as the parser reads it and
/// an introspection answer's <c>aud</c> (RFC 7662 §2.2) — with the same cases, so neither path can drift: exact,
/// case-sensitive comparison; arrays any-of, non-string items ignored; a missing <c>aud</c> only satisfied by
/// <c>client_id</c> for the Cognito profile.
/// </summary>
public sealed class AudienceRulesTests
{
    private static readonly IssuerConfig s_generic = new() { Name = "corp", Issuer = "https://idp.test/", Audiences = ["orders", "billing"] };
    private static readonly IssuerConfig s_cognito = s_generic with { Profile = "Cognito" };

    public static TheoryData<string, string?, bool, bool> Cases() => new()
    {
        // aud JSON, client_id, cognito profile, expected
        { "\"orders\"", null, false, true },
        { "\"billing\"", null, false, true },
        { "\"Orders\"", null, false, false },
        { "\"orders \"", null, false, false },
        { "\"payments\"", null, false, false },
        { "\"\"", null, false, false },
        { "[\"x\",\"billing\"]", null, false, true },
        { "[\"x\",\"y\"]", null, false, false },
        { "[]", null, false, false },
        { "[1,\"orders\"]", null, false, true },
        { "[\"ORDERS\"]", null, false, false },
        { "", "orders", true, true },
        { "", "orders", false, false },
        { "", "payments", true, false },
        { "", null, true, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IntrospectionAnswerAud_AppliesTheRule(string aud, string? clientId, bool cognito, bool expected)
    {
        using var document = JsonDocument.Parse(aud.Length == 0 ? "{}" : $"{{\"aud\":{aud}}}");
        var element = document.RootElement.TryGetProperty("aud", out var value) ? value : default;

        Assert.Equal(expected, AudienceRules.Matches(element, clientId, cognito ? s_cognito : s_generic));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void JwtAud_AppliesTheRule(string aud, string? clientId, bool cognito, bool expected)
    {
        JwtAudience parsed;
        if (aud.Length == 0)
        {
            parsed = new JwtAudience(null, null);
        }
        else
        {
            using var document = JsonDocument.Parse(aud);
            parsed = document.RootElement.ValueKind == JsonValueKind.Array
                ? new JwtAudience(null, [.. document.RootElement.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)])
                : new JwtAudience(document.RootElement.GetString(), null);
        }

        Assert.Equal(expected, AudienceRules.Matches(parsed, clientId, cognito ? s_cognito : s_generic));
    }

    [Theory]
    [InlineData("123")]
    [InlineData("null")]
    [InlineData("{\"aud\":\"orders\"}")]
    [InlineData("true")]
    public void IntrospectionAnswerAud_OfAnotherType_NeverMatches(string aud)
    {
        using var document = JsonDocument.Parse($"{{\"aud\":{aud}}}");

        Assert.False(AudienceRules.Matches(document.RootElement.GetProperty("aud"), "orders", s_cognito));
    }
}
