using System.Net;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>Envoy's HTTP ext_authz service protocol on real Kestrel (HTTP/1.1).</summary>
public sealed class ExtAuthzHttpHandlerTests : IAsyncLifetime
{
    private readonly ScriptedDecider _decider = new(ScriptedDecider.Allow(("x-gatehouse-sub", "alice")));
    private ExtAuthzServer _server = null!;

    public async Task InitializeAsync() => _server = await ExtAuthzServer.StartHttpAsync(
        new ExtAuthzHttpHandler(_decider.Decide, new ExtAuthzOptions { PathPrefix = "/ext_authz/", TrustForwardedClientCert = true, ListenerName = "authz-http" }).HandleAsync);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Allow_Returns200_WithUpstreamHeaders_AndHeadersToRemove()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ext_authz/orders/1?x=%2F");
        request.Headers.Host = "API.example.com:8443";
        request.Headers.TryAddWithoutValidation("authorization", "Bearer abc");
        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alice", response.Headers.GetValues("x-gatehouse-sub").Single());
        Assert.Equal("authorization", response.Headers.GetValues(ExtAuthzHttpHandler.HeadersToRemoveHeader).Single());
        var seen = _decider.LastRequest!;
        Assert.Equal("/orders/1", seen.RawPath);
        Assert.Equal("?x=%2F", seen.Query);
        Assert.Equal("api.example.com", seen.Host);
        Assert.Equal(8443, seen.Port);
        Assert.Equal("Bearer abc", seen.GetHeader("Authorization"));
        Assert.Equal("API.example.com:8443", seen.GetHeader(":authority"));
        Assert.Equal("/orders/1?x=%2F", seen.GetHeader(":path"));
        Assert.Equal("authz-http", seen.Listener);
    }

    [Fact]
    public async Task Deny_ReturnsStatus_Challenge_AndJsonBody()
    {
        _decider.Answer(ScriptedDecider.Deny(401, ReasonCodes.TokenSignatureInvalid, "Bearer error=\"invalid_token\""));

        using var response = await _server.Client.GetAsync("/ext_authz/orders");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("token.signature_invalid", response.Headers.GetValues(ExtAuthzHttpHandler.ReasonHeader).Single());
        Assert.Equal("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("{\"error\":\"unauthorized\",\"reasons\":[\"token.signature_invalid\"]}", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/orders")]
    [InlineData("/ext_authzorders")]
    public async Task MissingPathPrefix_IsDenied404_WithoutAskingTheEngine(string path)
    {
        var calls = _decider.Calls;
        using var response = await _server.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(calls, _decider.Calls);
    }

    [Fact]
    public async Task PrefixOnly_MapsToRoot()
    {
        using var response = await _server.Client.GetAsync("/ext_authz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/", _decider.LastRequest!.RawPath);
    }

    [Fact]
    public async Task ForwardedClientCert_GivesPeerIdentity_AndThumbprint()
    {
        var hash = new string('a', 64);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ext_authz/x");
        request.Headers.TryAddWithoutValidation("x-forwarded-client-cert",
            "By=spiffe://td/ns/a/sa/b;Hash=1111111111111111111111111111111111111111111111111111111111111111;URI=spiffe://td/ns/evil/sa/x,"
            + $"By=spiffe://td/ns/orders/sa/orders;Hash={hash};Subject=\"O=x,CN=y\";URI=spiffe://td/ns/shop/sa/checkout");
        request.Headers.TryAddWithoutValidation("x-forwarded-for", "203.0.113.9, 10.0.0.7");
        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = _decider.LastRequest!;
        Assert.Equal("spiffe://td/ns/shop/sa/checkout", seen.PeerIdentity);
        Assert.Equal(System.Buffers.Text.Base64Url.EncodeToString(Convert.FromHexString(hash)), seen.PeerCertificateThumbprint);
        Assert.Equal(IPAddress.Parse("10.0.0.7"), seen.SourceAddress);
    }

    [Fact]
    public async Task ForwardedClientCert_Ignored_WhenNotTrusted()
    {
        await using var server = await ExtAuthzServer.StartHttpAsync(new ExtAuthzHttpHandler(_decider.Decide, new ExtAuthzOptions()).HandleAsync);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/x");
        request.Headers.TryAddWithoutValidation("x-forwarded-client-cert", "URI=spiffe://td/ns/shop/sa/checkout");
        using var response = await server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(_decider.LastRequest!.PeerIdentity);
    }

    [Fact]
    public async Task EngineThrows_Is403_WithIntended503_NeverA5xx()
    {
        _decider.Script((_, _) => throw new InvalidOperationException("boom"));
        using var response = await _server.Client.GetAsync("/ext_authz/x");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("503", response.Headers.GetValues(ExtAuthzHttpHandler.IntendedStatusHeader).Single());
        Assert.Equal("server.internal_error", response.Headers.GetValues(ExtAuthzHttpHandler.ReasonHeader).Single());
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(502)]
    public async Task CannotDecide_AnyEngine5xx_IsTheConfiguredStatus_WithTheIntendedOneInAHeader(int status)
    {
        await using var server = await ExtAuthzServer.StartHttpAsync(new ExtAuthzHttpHandler(
            _decider.Decide, new ExtAuthzOptions { StatusOnUnavailable = 400 }).HandleAsync);
        _decider.Answer(ScriptedDecider.Deny(status, ReasonCodes.KeysUnavailable));

        using var response = await server.Client.GetAsync("/orders");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(status.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues(ExtAuthzHttpHandler.IntendedStatusHeader).Single());
        Assert.Equal("keys.unavailable", response.Headers.GetValues(ExtAuthzHttpHandler.ReasonHeader).Single());
    }

    [Fact]
    public void StatusOnUnavailable_Refuses5xx() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExtAuthzOptions { StatusOnUnavailable = 503 });

    [Fact]
    public async Task Denial_4xx_KeepsItsStatus_WithoutIntendedStatus()
    {
        _decider.Answer(ScriptedDecider.Deny(403, ReasonCodes.ScopeMissing + ":orders.write"));

        using var response = await _server.Client.GetAsync("/ext_authz/orders");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains(ExtAuthzHttpHandler.IntendedStatusHeader));
        Assert.Equal("scope.missing", response.Headers.GetValues(ExtAuthzHttpHandler.ReasonHeader).Single());
    }

    [Fact]
    public async Task HeaderValues_WithControlOrNonAsciiCharacters_AreWrittenSafely_NeverA500()
    {
        await using var server = await ExtAuthzServer.StartHttpAsync(new ExtAuthzHttpHandler(
            _decider.Decide, new ExtAuthzOptions { IncludeErrorDetails = true }).HandleAsync);
        _decider.Answer(ScriptedDecider.Deny(401, ReasonCodes.TokenIssuerUnknown + ":evil\r\nx-injected: 1\u00e9", "Bearer realm=\"a\r\nb\""));

        using var denied = await server.Client.GetAsync("/orders");

        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        var reason = denied.Headers.GetValues(ExtAuthzHttpHandler.ReasonHeader).Single();
        // The shared encoder (Gatehouse.Http.HeaderValues): reasons are percent-encoded text, an unsafe challenge is
        // refused.
        Assert.Equal("token.issuer_unknown:evil%0D%0Ax-injected: 1%C3%A9", reason);
        Assert.False(denied.Headers.Contains("x-injected"));
        Assert.Empty(denied.Headers.WwwAuthenticate);

        // A claim value the engine would have encoded, arriving unsafe anyway: dropped, and removed like an unset
        // claim header, so a client's own x-gatehouse-sub cannot pass either.
        _decider.Answer(ScriptedDecider.AllowRemoving(["authorization", "x-gatehouse-sub"], ("x-gatehouse-sub", "al\nice\u00e9")));
        using var allowed = await server.Client.GetAsync("/orders");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.False(allowed.Headers.Contains("x-gatehouse-sub"));
        Assert.Equal("authorization, x-gatehouse-sub", allowed.Headers.GetValues(ExtAuthzHttpHandler.HeadersToRemoveHeader).Single());
    }
}
