using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz;

namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>A stand-in decision engine: answers what the test scripts and records what it was asked.</summary>
internal sealed class ScriptedDecider
{
    private volatile Func<AuthorizationRequest, CancellationToken, ValueTask<Decision>> _script;

    public ScriptedDecider(Decision decision) => _script = (_, _) => new ValueTask<Decision>(decision);

    public AuthorizationRequest? LastRequest { get; private set; }

    public int Calls => _calls;

    private int _calls;

    public DecideAsync Decide => DecideAsync;

    public void Answer(Decision decision) => _script = (_, _) => new ValueTask<Decision>(decision);

    public void Script(Func<AuthorizationRequest, CancellationToken, ValueTask<Decision>> script) => _script = script;

    private ValueTask<Decision> DecideAsync(AuthorizationRequest request, CancellationToken cancellationToken)
    {
        LastRequest = request;
        Interlocked.Increment(ref _calls);
        return _script(request, cancellationToken);
    }

    public static Decision Allow(params (string Name, string Value)[] upstreamHeaders) => new()
    {
        Outcome = DecisionOutcome.Allow,
        StatusCode = 200,
        Reasons = [ReasonCodes.PolicyAllowMatched + ":orders-read/rule0"],
        RouteName = "orders",
        DecidingPolicy = "orders-read/rule0",
        UpstreamHeaders = [.. upstreamHeaders.Select(h => new KeyValuePair<string, string>(h.Name, h.Value))],
        RemoveHeaders = ["Authorization"],
    };

    /// <summary>An allow whose removal list also names claim headers, as the engine's does (every configured claim header).</summary>
    public static Decision AllowRemoving(string[] removeHeaders, params (string Name, string Value)[] upstreamHeaders) => new()
    {
        Outcome = DecisionOutcome.Allow,
        StatusCode = 200,
        Reasons = [ReasonCodes.PolicyAllowMatched + ":orders-read/rule0"],
        RouteName = "orders",
        UpstreamHeaders = [.. upstreamHeaders.Select(h => new KeyValuePair<string, string>(h.Name, h.Value))],
        RemoveHeaders = removeHeaders,
    };

    public static Decision Deny(int status, string reason, string? challenge = null) => new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = status,
        Reasons = [reason],
        Challenge = challenge,
        RouteName = "orders",
    };
}
