using System.Net;

namespace Gatehouse.Tests.Conformance;

internal static class ConformanceAssert
{
    public static async Task StatusAsync(ConformanceGateway gateway, HttpResponseMessage response, HttpStatusCode expected, string because)
    {
        if (response.StatusCode != expected)
        {
            Assert.Fail($"{because}: expected HTTP {(int)expected}, got {(int)response.StatusCode}.\n{await gateway.DescribeAsync(response)}");
        }
    }

    /// <summary>RFC 6750 §3: <c>WWW-Authenticate: Bearer …, error="&lt;code&gt;"</c>.</summary>
    public static void BearerChallenge(HttpResponseMessage response, string error)
    {
        Assert.True(response.Headers.TryGetValues("WWW-Authenticate", out var values), "a WWW-Authenticate header is required (RFC 6750 §3)");
        var challenge = string.Join(", ", values);
        Assert.StartsWith("Bearer", challenge, StringComparison.Ordinal);
        Assert.Contains($"error=\"{error}\"", challenge, StringComparison.Ordinal);
    }

    public static async Task RejectedAsInvalidTokenAsync(ConformanceGateway gateway, HttpResponseMessage response, string because)
    {
        await StatusAsync(gateway, response, HttpStatusCode.Unauthorized, because);
        BearerChallenge(response, "invalid_token");
    }
}
