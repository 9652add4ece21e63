using System.Text;
using Gatehouse.Tests.Contract;

namespace Gatehouse.Tests.Security;

/// <summary>
/// Hostile request heads (raw TCP, so nothing is cleaned up by a client): CR/LF and NUL inside values, obsolete line
/// folding, headers beyond the size and count limits, duplicate Authorization headers. Each must get a clear 4xx —
/// never a 5xx, a crash, or an allow — on the gateway and on the ext_authz HTTP listener, and the server must keep
/// serving afterwards.
/// </summary>
[Collection(ContractCollection.Name)]
public sealed class HostileHeaderTests(ContractServerFixture server)
{
    public static TheoryData<string, string> Cases => new()
    {
        { "BareCR_InValue", "X-Evil: a\rInjected: yes" },
        // Note: Gatehouse turns off Kestrel's bare-LF line terminators (RFC 9112 §2.2 lets a server refuse them), so a
        // header smuggled behind a bare LF is refused even when it carries a valid token.
        { "BareLF_InValue_SmuggledInvalidAuthorization", "X-Evil: a\nAuthorization: Bearer abc.def.ghi" },
        { "BareLF_InValue_SmuggledValidAuthorization", "X-Evil: a\nAuthorization: Bearer {valid}" },
        { "ObsFold_Continuation", "X-Evil: a\r\n Injected: yes" },
        { "ObsFold_OnAuthorization", "Authorization: Bearer\r\n {valid}" },
        { "Nul_InValue", "X-Evil: a\0b" },
        { "Nul_InAuthorization", "Authorization: Bearer {valid}\0" },
        { "HeaderTooLarge_64KiB", "X-Big: " + new string('a', 64 * 1024) },
        { "HeadersTotalBeyondLimit", string.Join("\r\n", Enumerable.Range(0, 8).Select(i => $"X-Part-{i}: " + new string('b', 5000))) },
        { "Thousand_Headers", string.Join("\r\n", Enumerable.Range(0, 1000).Select(i => $"X-H{i}: v")) },
        { "DuplicateAuthorization_SameValidToken", "Authorization: Bearer {valid}\r\nAuthorization: Bearer {valid}" },
        { "DuplicateAuthorization_ValidThenInvalid", "Authorization: Bearer {valid}\r\nAuthorization: Bearer abc.def.ghi" },
        { "DuplicateAuthorization_InvalidThenValid", "Authorization: Bearer abc.def.ghi\r\nAuthorization: Bearer {valid}" },
        { "DuplicateAuthorization_BasicThenValid", "Authorization: Basic dXNlcjpwYXNz\r\nAuthorization: Bearer {valid}" },
        { "Authorization_TwoCredentialsOneLine", "Authorization: Bearer {valid}, Bearer {valid}" },
        { "DuplicateHost", "Host: evil.example.com" },
        { "SpaceBeforeColon", "Authorization : Bearer {valid}" },
        { "NonAsciiInName", "X-Évil: a" },
        { "EmptyHeaderName", ": value" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HostileHead_Gets4xx_NeverAnAllowOr5xx_OnGateway(string name, string headerBlock)
        => await AssertRefusedAsync(name, headerBlock, "edge");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HostileHead_Gets4xx_NeverAnAllowOr5xx_OnExtAuthzHttp(string name, string headerBlock)
        => await AssertRefusedAsync(name, headerBlock, "authz");

    private async Task AssertRefusedAsync(string name, string headerBlock, string listener)
    {
        var valid = server.Authorization(TokenKind.Valid)!["Bearer ".Length..];
        var caseId = Guid.NewGuid().ToString("N");
        var head = $"GET /orders/1 HTTP/1.1\r\nHost: api.example.com\r\nx-case-id: {caseId}\r\n{headerBlock.Replace("{valid}", valid, StringComparison.Ordinal)}\r\nConnection: close\r\n\r\n";
        var uri = server.Harness.Server.GetListenerUri(listener);

        var response = await RawHttp.SendBytesAsync(uri, Encoding.UTF8.GetBytes(head));

        var forwarded = server.Harness.Upstream.Received.Any(r => r.Headers.TryGetValue("x-case-id", out var id) && id == caseId);
        Assert.True(response.Status is >= 400 and < 500, $"{name} on {listener}: {response}");
        Assert.False(forwarded, $"{name} on {listener}: the upstream received the request");
        if (name.StartsWith("HeaderTooLarge", StringComparison.Ordinal) || name.StartsWith("HeadersTotal", StringComparison.Ordinal) || name.StartsWith("Thousand", StringComparison.Ordinal))
        {
            Assert.True(response.Status == 431, $"{name} on {listener}: {response}");
        }

        // Still serving: a well-formed request right after is decided normally.
        var follow = await RawHttp.SendAsync(uri, "GET", "/orders/1", headers: ["Authorization: Bearer " + valid]);
        Assert.Equal(200, follow.Status);
    }
}
