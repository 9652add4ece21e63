using Gatehouse.Configuration;
using Gatehouse.Policy;
using Gatehouse.Tokens;

namespace Gatehouse.Runtime;

/// <summary>
/// A route compiled from <see cref="RouteConfig"/> into a config snapshot: its issuers resolved to their runtimes,
/// its policies (bound + global) compiled, its claim headers pre-sanitized. Immutable.
/// </summary>
public sealed class CompiledRoute
{
    public required string Name { get; init; }
    public required RouteConfig Config { get; init; }
    /// <summary>The upstream base URI (scheme, host, port, optional base path), or null for ext_authz-only routes.</summary>
    public Uri? Upstream { get; init; }
    /// <summary>The forwarder's destination prefix (scheme, authority and base path without a trailing '/').</summary>
    public string? UpstreamPrefix => Upstream is null ? null : _upstreamPrefix ??= Upstream.GetLeftPart(UriPartial.Authority) + Upstream.AbsolutePath.TrimEnd('/');

    private string? _upstreamPrefix;
    public required IReadOnlyList<IssuerRuntime> Issuers { get; init; }
    /// <summary>The access-token issuers of <see cref="Issuers"/>: the ones the <c>Authorization</c> credential is checked against.</summary>
    public IReadOnlyList<IssuerRuntime> AccessIssuers => _access ??= [.. Issuers.Where(i => i.Config.Kind != IssuerKind.TxnToken)];
    /// <summary>The <c>kind: txn_token</c> issuers of <see cref="Issuers"/>: the ones the <c>txn-token</c> header is checked against.</summary>
    public IReadOnlyList<IssuerRuntime> TxnIssuers => _txn ??= [.. Issuers.Where(i => i.Config.Kind == IssuerKind.TxnToken)];

    private IReadOnlyList<IssuerRuntime>? _access;
    private IReadOnlyList<IssuerRuntime>? _txn;
    public required CompiledPolicySet Policies { get; init; }
    /// <summary>(upstream header, claim path) pairs, header names lower-cased.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> ClaimHeaders { get; init; }
    /// <summary>Headers always removed from the inbound request before forwarding (claim header names, and
    /// Authorization unless the route forwards it).</summary>
    public required IReadOnlyList<string> RemoveHeaders { get; init; }
    /// <summary><see cref="RemoveHeaders"/> for a request that carried a <c>DPoP</c> proof (removed with Authorization).</summary>
    public IReadOnlyList<string> RemoveHeadersWithDpop { get; init; } = [];
    public bool RequireToken => Config.Authentication.RequireToken;
    public bool RequireBoundTokens { get; init; }
    /// <summary>
    /// An outbound route that forwards or exchanges the app's token without naming issuers: a presented token is
    /// passed on (or exchanged) without being validated here.
    /// </summary>
    public bool PassesTokenUnvalidated { get; init; }

    /// <summary>Longest delegation chain accepted (<c>authentication.max_delegation_depth</c>, default the parse bound).</summary>
    public int MaxDelegationDepth => Config.Authentication.MaxDelegationDepth ?? Model.ActorChain.MaxParseDepth;
}
