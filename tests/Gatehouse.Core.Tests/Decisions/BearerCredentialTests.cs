using Gatehouse.Decisions;

namespace Gatehouse.Tests.Decisions;

/// <summary>RFC 6750 §2.1 header parsing: absent, present, malformed — never a guess.</summary>
public sealed class BearerCredentialTests
{
    public static TheoryData<string, string?, CredentialStatus, string> Cases => new()
    {
        { "no header", null, CredentialStatus.Absent, "" },
        { "empty header", "", CredentialStatus.Absent, "" },
        { "bearer token", "Bearer abc.def-ghi_jkl~+/", CredentialStatus.Present, "abc.def-ghi_jkl~+/" },
        { "scheme is case-insensitive", "bEaReR abc", CredentialStatus.Present, "abc" },
        { "padding allowed at the end", "Bearer abc==", CredentialStatus.Present, "abc==" },
        { "extra spaces before the token", "Bearer   abc", CredentialStatus.Present, "abc" },
        { "other scheme offers no bearer token", "Basic dXNlcjpwYXNz", CredentialStatus.Absent, "" },
        { "digest with commas is still no bearer token", "Digest username=\"a\", realm=\"b\"", CredentialStatus.Absent, "" },
        { "bearer hidden behind another scheme", "Basic dXNlcjpwYXNz, Bearer abc", CredentialStatus.Malformed, "" },
        { "scheme alone", "Bearer", CredentialStatus.Malformed, "" },
        { "two tokens", "Bearer abc def", CredentialStatus.Malformed, "" },
        { "two bearer headers joined", "Bearer abc,Bearer def", CredentialStatus.Malformed, "" },
        { "padding in the middle", "Bearer ab=c", CredentialStatus.Malformed, "" },
        { "only padding", "Bearer ==", CredentialStatus.Malformed, "" },
        { "quote", "Bearer \"abc\"", CredentialStatus.Malformed, "" },
        { "non-ASCII", "Bearer abcé", CredentialStatus.Malformed, "" },
        // Mutation testing: the "hidden credential" scan's DPoP branch and both name edges were pinned by nothing.
        { "DPoP hidden behind another scheme", "Basic dXNlcjpwYXNz, DPoP abc", CredentialStatus.Malformed, "" },
        { "bare DPoP hidden behind another scheme", "Basic dXNlcjpwYXNz, dpop", CredentialStatus.Malformed, "" },
        { "bare Bearer hidden behind another scheme", "Basic dXNlcjpwYXNz, Bearer", CredentialStatus.Malformed, "" },
        { "a parameter named like DPoP is no credential", "Digest DPoPx=\"a\", realm=\"b\"", CredentialStatus.Absent, "" },
        { "a parameter named like Bearer is no credential", "Digest Bearerish=\"a\", realm=\"b\"", CredentialStatus.Absent, "" },
        { "DPoP token", "DPoP abc", CredentialStatus.Present, "abc" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parse(string name, string? header, CredentialStatus expected, string expectedToken)
    {
        _ = name;

        var status = BearerCredential.Parse(header, out var token);

        Assert.Equal(expected, status);
        Assert.Equal(expectedToken, token);
    }
}
