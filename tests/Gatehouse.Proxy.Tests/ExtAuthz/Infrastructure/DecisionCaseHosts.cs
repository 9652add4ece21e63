using System.Net;
using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.ExtAuthz.Wire.Core;

namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>Runs decision cases through the ext_authz gRPC service, building CheckRequests as Envoy does.</summary>
public sealed class GrpcDecisionCaseHost : IDecisionCaseHost
{
    private readonly ScriptedDecider _decider = new(ScriptedDecider.Allow());
    private ExtAuthzServer? _server;

    public async Task<(ObservedOutcome Outcome, AuthorizationRequest? Seen)> RunAsync(DecisionCase decisionCase)
    {
        _server ??= await ExtAuthzServer.StartGrpcAsync(_decider.Decide);
        _decider.Answer(decisionCase.Decision);

        var http = new AttributeContext.Types.HttpRequest
        {
            Method = decisionCase.Method,
            Path = decisionCase.Target,
            Host = decisionCase.Authority,
            Scheme = decisionCase.Scheme,
            Protocol = "HTTP/2",
            Size = -1,
        };
        http.Headers[":authority"] = decisionCase.Authority;
        http.Headers[":method"] = decisionCase.Method;
        http.Headers[":path"] = decisionCase.Target;
        http.Headers[":scheme"] = decisionCase.Scheme;
        foreach (var (name, value) in decisionCase.Headers)
        {
            http.Headers[name.ToLowerInvariant()] = value;
        }

        var source = new AttributeContext.Types.Peer
        {
            Address = new Address { SocketAddress = new Gatehouse.Proxy.ExtAuthz.Wire.Core.SocketAddress { Address = (decisionCase.SourceAddress ?? IPAddress.Parse("10.0.0.9")).ToString(), PortValue = 40000 } },
        };
        if (decisionCase.PeerSpiffeId is { } spiffe)
        {
            source.Principal = spiffe;
        }

        var check = new CheckRequest { Attributes = new AttributeContext { Source = source, Request = new AttributeContext.Types.Request { Http = http } } };
        var result = await GrpcTestClient.CallAsync(_server.Client, GrpcTestClient.Frame(check));
        Assert.Equal(0, result.GrpcStatus);
        var response = result.Response!;

        ObservedOutcome observed;
        if (response.Status.Code == 0)
        {
            var ok = response.OkResponse;
            observed = new ObservedOutcome(true, 200, ok.Headers.ToDictionary(h => h.Header.Key, h => h.Header.Value), [.. ok.HeadersToRemove], null, null, []);
        }
        else
        {
            var denied = response.DeniedResponse;
            using var body = JsonDocument.Parse(denied.Body);
            observed = new ObservedOutcome(
                false,
                (int)denied.Status.Code,
                new Dictionary<string, string>(),
                [],
                denied.Headers.FirstOrDefault(h => h.Header.Key == "www-authenticate")?.Header.Value,
                body.RootElement.GetProperty("error").GetString(),
                [.. body.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)]);
            Assert.Equal((int)CheckResponseBuilder.StatusFor(observed.StatusCode), response.Status.Code);
        }

        return (observed, _decider.LastRequest);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// Runs decision cases through <see cref="ExtAuthzHttpHandler"/> as Envoy's http_service calls it: path_prefix
/// "/authz", original headers, the peer in x-forwarded-client-cert (forward_client_cert_details: SANITIZE_SET).
/// </summary>
public sealed class HttpDecisionCaseHost : IDecisionCaseHost
{
    private static readonly HashSet<string> s_transportHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "date", "server", "content-length", "transfer-encoding", "content-type", ExtAuthzHttpHandler.HeadersToRemoveHeader,
    };

    private readonly ScriptedDecider _decider = new(ScriptedDecider.Allow());
    private ExtAuthzServer? _server;

    public async Task<(ObservedOutcome Outcome, AuthorizationRequest? Seen)> RunAsync(DecisionCase decisionCase)
    {
        _server ??= await ExtAuthzServer.StartHttpAsync(new ExtAuthzHttpHandler(
            _decider.Decide, new ExtAuthzOptions { PathPrefix = "/authz", TrustForwardedClientCert = true }).HandleAsync);
        _decider.Answer(decisionCase.Decision);

        using var request = new HttpRequestMessage(new HttpMethod(decisionCase.Method), new Uri(_server.BaseAddress, "/authz" + decisionCase.Target));
        request.Headers.Host = decisionCase.Authority;
        request.Headers.TryAddWithoutValidation("x-forwarded-proto", decisionCase.Scheme);
        request.Headers.TryAddWithoutValidation("x-forwarded-for", (decisionCase.SourceAddress ?? IPAddress.Parse("10.0.0.9")).ToString());
        foreach (var (name, value) in decisionCase.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (decisionCase.PeerSpiffeId is { } spiffe)
        {
            request.Headers.TryAddWithoutValidation("x-forwarded-client-cert", "By=spiffe://cluster.local/ns/orders/sa/orders;URI=" + spiffe);
        }

        using var response = await _server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        ObservedOutcome observed;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var upstream = response.Headers.Where(h => !s_transportHeaders.Contains(h.Key)).ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value));
            var removed = response.Headers.TryGetValues(ExtAuthzHttpHandler.HeadersToRemoveHeader, out var values)
                ? values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList()
                : [];
            observed = new ObservedOutcome(true, 200, upstream, removed, null, null, []);
        }
        else
        {
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            // Never a 5xx (Envoy would treat it as an error): "cannot decide" is a 403 naming the intended status.
            var status = (int)response.StatusCode;
            Assert.InRange(status, 400, 499);
            if (response.Headers.TryGetValues(ExtAuthzHttpHandler.IntendedStatusHeader, out var intended))
            {
                Assert.Equal(403, status);
                status = int.Parse(intended.Single(), System.Globalization.CultureInfo.InvariantCulture);
            }

            using var body = JsonDocument.Parse(text);
            observed = new ObservedOutcome(
                false,
                status,
                new Dictionary<string, string>(),
                [],
                response.Headers.WwwAuthenticate.Count > 0 ? string.Join(", ", response.Headers.GetValues("WWW-Authenticate")) : null,
                body.RootElement.GetProperty("error").GetString(),
                [.. body.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)]);
        }

        return (observed, _decider.LastRequest);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
