using System.Net;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>
/// One request and the decision the (scripted) engine gives for it. The same table runs through every host
/// (ext_authz gRPC, ext_authz HTTP, and later the gateway) and each must show the same <see cref="ObservedOutcome"/>
/// and hand the engine the same <see cref="AuthorizationRequest"/> facts.
/// </summary>
public sealed record DecisionCase(string Name)
{
    public string Method { get; init; } = "GET";
    public string Scheme { get; init; } = "https";
    /// <summary>Authority as the client sent it (any case, optional port).</summary>
    public string Authority { get; init; } = "api.example.com";
    /// <summary>Request target: raw path and query, percent-encoding kept.</summary>
    public string Target { get; init; } = "/";
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    /// <summary>The SPIFFE ID of the peer's verified certificate (mTLS), or null.</summary>
    public string? PeerSpiffeId { get; init; }
    public IPAddress? SourceAddress { get; init; }
    public required Decision Decision { get; init; }

    // What the engine must be asked.
    public required string ExpectedHost { get; init; }
    public required int ExpectedPort { get; init; }
    public required string ExpectedRawPath { get; init; }
    public string ExpectedQuery { get; init; } = "";

    public override string ToString() => Name;
}

/// <summary>What a client (Envoy, or a gateway client) observes: the same shape for every host.</summary>
public sealed record ObservedOutcome(
    bool Allowed,
    int StatusCode,
    IReadOnlyDictionary<string, string> UpstreamHeaders,
    IReadOnlyList<string> RemovedHeaders,
    string? Challenge,
    string? BodyError,
    IReadOnlyList<string> BodyReasons)
{
    public static ObservedOutcome Expected(Decision decision) => new(
        decision.Allowed,
        decision.Allowed ? 200 : decision.StatusCode,
        decision.Allowed ? decision.UpstreamHeaders.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value) : new Dictionary<string, string>(),
        // Envoy removes after it sets: a name the answer sets is never listed for removal (issue 11 item 3).
        decision.Allowed
            ? [.. decision.RemoveHeaders.Select(h => h.ToLowerInvariant()).Where(h => !decision.UpstreamHeaders.Any(u => string.Equals(u.Key, h, StringComparison.OrdinalIgnoreCase))).Distinct()]
            : [],
        decision.Allowed ? null : decision.Challenge,
        decision.Allowed ? null : Gatehouse.Proxy.ExtAuthz.DenialBody.ErrorFor(decision.StatusCode),
        decision.Allowed ? [] : [.. decision.Reasons.Select(r => r.Split(':')[0])]);

    /// <summary>Structural equality for assertions (records compare collections by reference).</summary>
    public bool SameAs(ObservedOutcome other) =>
        Allowed == other.Allowed
        && StatusCode == other.StatusCode
        && UpstreamHeaders.OrderBy(h => h.Key, StringComparer.Ordinal).SequenceEqual(other.UpstreamHeaders.OrderBy(h => h.Key, StringComparer.Ordinal))
        && RemovedHeaders.Order(StringComparer.Ordinal).SequenceEqual(other.RemovedHeaders.Order(StringComparer.Ordinal))
        && Challenge == other.Challenge
        && BodyError == other.BodyError
        && BodyReasons.SequenceEqual(other.BodyReasons);

    public override string ToString() =>
        $"{(Allowed ? "allow" : "deny")} {StatusCode} up=[{string.Join(";", UpstreamHeaders.Select(h => h.Key + "=" + h.Value))}] "
        + $"rm=[{string.Join(",", RemovedHeaders)}] challenge={Challenge} error={BodyError} reasons=[{string.Join(",", BodyReasons)}]";
}

/// <summary>A host that can be driven with a <see cref="DecisionCase"/> (the contract-suite extension point).</summary>
public interface IDecisionCaseHost : IAsyncDisposable
{
    /// <summary>Sends the case's request, with the engine scripted to answer <see cref="DecisionCase.Decision"/>.</summary>
    Task<(ObservedOutcome Outcome, AuthorizationRequest? Seen)> RunAsync(DecisionCase decisionCase);
}

/// <summary>The shared decision case table.</summary>
public static class DecisionCaseTable
{
    private const string Token = "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

    public static IReadOnlyList<DecisionCase> All { get; } =
    [
        new("Allow_WithClaimHeaders_RemovesAuthorization")
        {
            Target = "/orders/42?expand=items",
            Headers = [new("authorization", Token)],
            PeerSpiffeId = "spiffe://cluster.local/ns/shop/sa/checkout",
            Decision = new Decision
            {
                Outcome = DecisionOutcome.Allow,
                StatusCode = 200,
                Reasons = [ReasonCodes.PolicyAllowMatched + ":orders-read/rule0"],
                UpstreamHeaders = [new("x-gatehouse-sub", "alice"), new("x-gatehouse-client", "checkout")],
                RemoveHeaders = ["authorization", "x-gatehouse-sub"],
            },
            ExpectedHost = "api.example.com",
            ExpectedPort = 443,
            ExpectedRawPath = "/orders/42",
            ExpectedQuery = "?expand=items",
        },
        new("Allow_PublicRoute_NoHeaders")
        {
            Scheme = "http",
            Authority = "Docs.Example.COM:8080",
            Target = "/docs/index.html",
            Decision = new Decision { Outcome = DecisionOutcome.Allow, StatusCode = 200, Reasons = [ReasonCodes.PublicRoute] },
            ExpectedHost = "docs.example.com",
            ExpectedPort = 8080,
            ExpectedRawPath = "/docs/index.html",
        },
        new("Deny_TokenMissing_401_WithChallenge")
        {
            Target = "/orders",
            Decision = new Decision
            {
                Outcome = DecisionOutcome.Deny,
                StatusCode = 401,
                Reasons = [ReasonCodes.TokenMissing],
                Challenge = "Bearer realm=\"api.example.com\"",
            },
            ExpectedHost = "api.example.com",
            ExpectedPort = 443,
            ExpectedRawPath = "/orders",
        },
        new("Deny_InsufficientScope_403_DetailsHidden")
        {
            Method = "POST",
            Target = "/orders/caf%C3%A9?dry=1",
            Headers = [new("authorization", Token)],
            Decision = new Decision
            {
                Outcome = DecisionOutcome.Deny,
                StatusCode = 403,
                Reasons = [ReasonCodes.ScopeMissing + ":orders.write", ReasonCodes.PolicyNoAllowMatch],
                Challenge = "Bearer error=\"insufficient_scope\", scope=\"orders.write\"",
            },
            ExpectedHost = "api.example.com",
            ExpectedPort = 443,
            ExpectedRawPath = "/orders/caf%C3%A9",
            ExpectedQuery = "?dry=1",
        },
        new("Deny_KeysUnavailable_503")
        {
            Target = "/orders",
            Headers = [new("authorization", Token)],
            Decision = new Decision { Outcome = DecisionOutcome.Deny, StatusCode = 503, Reasons = [ReasonCodes.KeysUnavailable] },
            ExpectedHost = "api.example.com",
            ExpectedPort = 443,
            ExpectedRawPath = "/orders",
        },
        new("Deny_RouteNotFound_404")
        {
            Target = "/nowhere",
            Decision = new Decision { Outcome = DecisionOutcome.Deny, StatusCode = 404, Reasons = [ReasonCodes.RouteNotFound] },
            ExpectedHost = "api.example.com",
            ExpectedPort = 443,
            ExpectedRawPath = "/nowhere",
        },
        new("Deny_AmbiguousPath_400_RawPathPreserved")
        {
            Target = "/orders%2F..%2Fadmin",
            Decision = new Decision { Outcome = DecisionOutcome.Deny, StatusCode = 400, Reasons = [ReasonCodes.PathAmbiguous] },
            ExpectedHost = "api.example.com",
            ExpectedPort = 443,
            ExpectedRawPath = "/orders%2F..%2Fadmin",
        },
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var decisionCase in All)
        {
            data.Add(decisionCase.Name);
        }

        return data;
    }

    public static DecisionCase Get(string name) => All.Single(c => c.Name == name);

    /// <summary>Runs one case against a host and checks the outcome and what the engine was asked.</summary>
    public static async Task<ObservedOutcome> RunAndAssertAsync(IDecisionCaseHost host, DecisionCase decisionCase)
    {
        var (observed, seen) = await host.RunAsync(decisionCase);
        var expected = ObservedOutcome.Expected(decisionCase.Decision);
        Assert.True(expected.SameAs(observed), $"{decisionCase.Name}: expected {expected}, observed {observed}");

        Assert.NotNull(seen);
        Assert.Equal(decisionCase.Method, seen.Method);
        Assert.Equal(decisionCase.ExpectedHost, seen.Host);
        Assert.Equal(decisionCase.ExpectedPort, seen.Port);
        Assert.Equal(decisionCase.Scheme, seen.Scheme);
        Assert.Equal(decisionCase.ExpectedRawPath, seen.RawPath);
        Assert.Equal(decisionCase.ExpectedQuery, seen.Query);
        Assert.Equal(decisionCase.PeerSpiffeId, seen.PeerIdentity);
        foreach (var (name, value) in decisionCase.Headers)
        {
            Assert.Equal(value, seen.GetHeader(name.ToUpperInvariant()));
        }

        return observed;
    }
}
