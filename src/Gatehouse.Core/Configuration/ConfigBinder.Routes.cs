namespace Gatehouse.Configuration;

internal sealed partial class ConfigBinder
{
    private void BindRoutes(YNode node, string path)
    {
        if (AsSequence(node, path) is not { } sequence)
        {
            return;
        }

        var names = new Dictionary<string, YNode>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Items.Count; i++)
        {
            var itemPath = Index(path, i);
            if (AsMapping(sequence.Items[i], itemPath) is not { } mapping)
            {
                if (sequence.Items[i] is YScalar { IsNull: true })
                {
                    Error(sequence.Items[i], itemPath, "empty route; it needs at least a name");
                }

                continue;
            }

            var route = new RouteConfig();
            YNode? nameNode = null, upstreamNode = null;
            foreach (var (key, value, p) in Entries(mapping, itemPath, ConfigKeys.Route))
            {
                switch (key)
                {
                    case "name":
                        nameNode = value;
                        route = route with { Name = NonEmptyString(value, p) ?? "" };
                        break;
                    case "match":
                        route = route with { Match = BindMatch(value, p) };
                        break;
                    case "upstream":
                        upstreamNode = value;
                        // Note: plain http upstreams are normal inside a mesh or on loopback; only key and
                        // introspection fetches are held to https.
                        route = route with { Upstream = Url(value, p, httpsUnlessLoopback: false) };
                        break;
                    case "authentication":
                        route = route with { Authentication = BindAuthentication(value, p) };
                        break;
                    case "policies":
                        var policyRefs = StringItems(value, p);
                        route = route with { Policies = policyRefs.ConvertAll(r => r.Value) };
                        foreach (var (policy, refNode, refPath) in policyRefs)
                        {
                            if (!_policies.ContainsKey(policy))
                            {
                                Error(refNode, refPath, UnknownReference("policy", policy, _policies.Keys));
                            }
                        }

                        break;
                    case "claim_headers":
                        route = route with { ClaimHeaders = BindClaimHeaders(value, p) };
                        break;
                    case "timeout":
                        route = route with { Timeout = Duration(value, p) ?? route.Timeout };
                        break;
                    case "outbound":
                        route = route with { Outbound = BindOutbound(value, p) };
                        break;
                }
            }

            if (nameNode is null)
            {
                Missing(mapping, itemPath, "name");
            }
            else if (route.Name.Length > 0 && !names.TryAdd(route.Name, nameNode))
            {
                Error(nameNode, Child(itemPath, "name"), $"duplicate route name '{route.Name}' (first used at line {names[route.Name].Line})");
            }

            if (upstreamNode is null && NeedsUpstream(route.Name))
            {
                Missing(mapping, itemPath, "upstream", "the absolute http(s) URL requests are forwarded to");
            }

            if (route.Outbound?.Token is { Mode: not OutboundTokenMode.Forward } token && route.Authentication.ForwardAuthorization)
            {
                Error(mapping, Child(itemPath, "authentication"),
                    $"forward_authorization: true conflicts with outbound.token.mode {ModeName(token.Mode)}; use outbound.token.mode: forward to send the app's token on");
            }

            if (route.Authentication.RequireToken && _issuers.Count == 0)
            {
                Error(mapping, Child(itemPath, "authentication"),
                    "the route requires a token but no issuers are defined; define an issuer or set require_token: false");
            }

            _routes.Add(route);
        }
    }

    /// <summary>
    /// A route needs an upstream unless every listener serving it only answers decisions (ext_authz) or is admin.
    /// </summary>
    private bool NeedsUpstream(string routeName)
    {
        var serving = _listeners.Where(l => l.Routes.Count == 0 || l.Routes.Contains(routeName)).ToList();
        return serving.Count == 0
            || serving.Exists(l => l.Mode is ListenerMode.Gateway or ListenerMode.Inbound or ListenerMode.Outbound);
    }

    private RouteMatchConfig BindMatch(YNode node, string path)
    {
        var result = new RouteMatchConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Match))
        {
            switch (key)
            {
                case "hosts":
                    var hosts = StringItems(value, p);
                    foreach (var (host, hostNode, hostPath) in hosts)
                    {
                        var bare = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
                        var colon = bare.LastIndexOf(':');
                        if (colon > 0 && bare[(colon + 1)..].All(char.IsAsciiDigit))
                        {
                            bare = bare[..colon];
                        }

                        if (Uri.CheckHostName(bare) == UriHostNameType.Unknown)
                        {
                            Error(hostNode, hostPath, $"'{host}' is not a host name (exact, or *.suffix for a wildcard)");
                        }
                    }

                    result = result with { Hosts = hosts.ConvertAll(h => h.Value) };
                    break;
                case "path_prefix":
                    if (NonEmptyString(value, p) is { } prefix)
                    {
                        if (!prefix.StartsWith('/'))
                        {
                            Error(value, p, $"path_prefix must start with '/', got '{prefix}'");
                        }

                        result = result with { PathPrefix = prefix };
                    }

                    break;
            }
        }

        return result;
    }

    private AuthenticationConfig BindAuthentication(YNode node, string path)
    {
        var result = new AuthenticationConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Authentication))
        {
            switch (key)
            {
                case "issuers":
                    var issuers = StringItems(value, p);
                    foreach (var (issuer, refNode, refPath) in issuers)
                    {
                        if (!_issuers.ContainsKey(issuer))
                        {
                            Error(refNode, refPath, UnknownReference("issuer", issuer, _issuers.Keys));
                        }
                    }

                    result = result with { Issuers = issuers.ConvertAll(i => i.Value) };
                    break;
                case "require_token":
                    result = result with { RequireToken = Bool(value, p) ?? result.RequireToken };
                    break;
                case "forward_authorization":
                    result = result with { ForwardAuthorization = Bool(value, p) ?? result.ForwardAuthorization };
                    break;
                case "required_scopes":
                    result = result with { RequiredScopes = StringList(value, p) };
                    break;
                case "require_bound_tokens":
                    result = result with { RequireBoundTokens = Bool(value, p) ?? result.RequireBoundTokens };
                    break;
                case "require_dpop":
                    result = result with { RequireDpop = Bool(value, p) ?? result.RequireDpop };
                    break;
                case "max_delegation_depth":
                    result = result with { MaxDelegationDepth = (int?)Integer(value, p, 0, Model.ActorChain.MaxParseDepth) };
                    break;
            }
        }

        return result;
    }

    private Dictionary<string, string> BindClaimHeaders(YNode node, string path)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in MapEntries(mapping, path))
        {
            // RFC 9110 §5.1: a field name is a token.
            if (!ConfigValues.IsHeaderName(key.Value))
            {
                Error(key, p, $"'{key.Value}' is not a valid HTTP header name");
                continue;
            }

            if (result.ContainsKey(key.Value))
            {
                Error(key, p, $"header '{key.Value}' is listed twice (header names are case-insensitive)");
                continue;
            }

            if (NonEmptyString(value, p) is { } claim)
            {
                result[key.Value] = claim;
            }
        }

        return result;
    }

    private OutboundConfig? BindOutbound(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new OutboundConfig();
        YNode? tokenNode = null;
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Outbound))
        {
            switch (key)
            {
                case "token":
                    tokenNode = value;
                    break;
                case "txn_token":
                    result = result with { TxnToken = BindOutboundTxnToken(value, p) };
                    break;
                case "client_certificate":
                    result = result with { ClientCertificate = FilePath(value, p) };
                    break;
                case "client_key":
                    result = result with { ClientKey = FilePath(value, p) };
                    break;
                case "trust_bundle":
                    result = result with { TrustBundle = FilePath(value, p) };
                    break;
                case "expected_peer":
                    if (NonEmptyString(value, p) is { } peer)
                    {
                        if (!peer.StartsWith("spiffe://", StringComparison.Ordinal) || peer.Length <= "spiffe://".Length)
                        {
                            Error(value, p, $"'{peer}' is not a SPIFFE ID (spiffe://trust-domain/path)");
                        }

                        result = result with { ExpectedPeer = peer };
                    }

                    break;
            }
        }

        if ((result.ClientCertificate is null) != (result.ClientKey is null))
        {
            Error(mapping, path, "client_certificate and client_key must be set together");
        }

        if (tokenNode is not null)
        {
            result = result with { Token = BindOutboundToken(tokenNode, Child(path, "token"), result) };
        }

        if (result.TxnToken is { Replace: true } && result.ClientCertificate is null)
        {
            // Note: the Txn-Token Service authenticates its callers by mTLS (their SPIFFE ID); without a certificate the
            // replacement request could never be authenticated.
            Error(mapping, path, "txn_token.replace needs client_certificate and client_key (the Txn-Token Service authenticates callers by mTLS)");
        }

        return result;
    }

    /// <summary>
    /// An outbound <c>issuer</c> reference whose token endpoint Gatehouse will call: it must name a configured issuer
    /// (of <c>kind: txn_token</c> when <paramref name="requireTxnToken"/>), and that issuer's token endpoint must be
    /// discoverable unless the mapping sets <c>token_endpoint</c> itself.
    /// </summary>
    private string? TokenEndpointIssuer(YNode value, string path, YMapping mapping, bool requireTxnToken)
    {
        if (NonEmptyString(value, path) is not { } issuer)
        {
            return null;
        }

        if (!_issuers.TryGetValue(issuer, out var issuerConfig))
        {
            Error(value, path, UnknownReference("issuer", issuer, _issuers.Keys));
        }
        else if (requireTxnToken && issuerConfig.Kind != IssuerKind.TxnToken)
        {
            Error(value, path, $"issuer '{issuer}' is not kind: txn_token");
        }
        else if (!issuerConfig.Discovery && issuerConfig.DiscoveryUri is null && !mapping.Entries.Any(e => e.Key.Value == "token_endpoint"))
        {
            Error(value, path, $"issuer '{issuer}' does not use discovery, so its token endpoint is unknown; set token_endpoint");
        }

        return issuer;
    }

    private OutboundTxnTokenConfig? BindOutboundTxnToken(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new OutboundTxnTokenConfig();
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.OutboundTxnToken))
        {
            switch (key)
            {
                case "replace":
                    result = result with { Replace = Bool(value, p) ?? result.Replace };
                    break;
                case "forward":
                    result = result with { Forward = Bool(value, p) ?? result.Forward };
                    break;
                case "scopes":
                    result = result with { Scopes = StringList(value, p) };
                    break;
                case "audience":
                    result = result with { Audience = NonEmptyString(value, p) };
                    break;
                case "issuer":
                    result = result with { Issuer = TokenEndpointIssuer(value, p, mapping, requireTxnToken: true) ?? result.Issuer };
                    break;
                case "token_endpoint":
                    result = result with { TokenEndpoint = Url(value, p, httpsUnlessLoopback: true) };
                    break;
                case "token_endpoint_ca":
                    result = result with { TokenEndpointCa = FilePath(value, p) };
                    break;
                case "timeout":
                    result = result with { Timeout = Duration(value, p, s_minOutboundTimeout, s_maxOutboundTimeout) ?? result.Timeout };
                    break;
            }
        }

        if (result.Replace && result.TokenEndpoint is null && result.Issuer is null)
        {
            Error(mapping, path, "replace: true needs token_endpoint, or issuer naming a kind: txn_token issuer with discovery");
        }

        if (result.Replace && !result.Forward)
        {
            Error(mapping, path, "forward: false removes the Txn-Token, replace: true sends a narrower one: set one of them");
        }

        if (result.Replace && result.Scopes.Count == 0)
        {
            // draft-ietf-oauth-transaction-tokens-10 §7.1: scope is REQUIRED in a Txn-Token Request.
            Missing(mapping, path, "scopes", "the narrower scope the replacement asks for");
        }

        if (result.Replace && result.Audience is null && result.Issuer is null)
        {
            // §7.1: audience (the trust domain) is REQUIRED; it comes from the issuer when one is named.
            Missing(mapping, path, "audience", "the trust domain, or name the txn_token issuer in 'issuer'");
        }

        return result;
    }

    private OutboundTokenConfig? BindOutboundToken(YNode node, string path, OutboundConfig outbound)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new OutboundTokenConfig();
        var nodes = new Dictionary<string, YNode>(StringComparer.Ordinal);
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.OutboundToken))
        {
            nodes[key] = value;
            switch (key)
            {
                case "mode":
                    result = OneOf(value, p, ConfigKeys.OutboundTokenModes, "token mode") switch
                    {
                        "forward" => result with { Mode = OutboundTokenMode.Forward },
                        "client_credentials" => result with { Mode = OutboundTokenMode.ClientCredentials },
                        "exchange" => result with { Mode = OutboundTokenMode.Exchange },
                        _ => result,
                    };
                    break;
                case "issuer":
                    result = result with { Issuer = TokenEndpointIssuer(value, p, mapping, requireTxnToken: false) ?? result.Issuer };
                    break;
                case "token_endpoint":
                    result = result with { TokenEndpoint = Url(value, p, httpsUnlessLoopback: true) };
                    break;
                case "client_id":
                    result = result with { ClientId = NonEmptyString(value, p) };
                    break;
                case "client_auth":
                    result = OneOf(value, p, ConfigKeys.OutboundClientAuthMethods, "client authentication method") switch
                    {
                        "client_secret_post" => result with { ClientAuth = OutboundClientAuth.ClientSecretPost },
                        "private_key_jwt" => result with { ClientAuth = OutboundClientAuth.PrivateKeyJwt },
                        "tls_client_auth" => result with { ClientAuth = OutboundClientAuth.TlsClientAuth },
                        _ => result,
                    };
                    break;
                case "client_secret_file":
                    result = result with { ClientSecretFile = FilePath(value, p) };
                    break;
                case "client_key_file":
                    if (FilePath(value, p) is { } keyFile)
                    {
                        if (File.Exists(keyFile) && ConfigValues.ValidatePrivateKeyPem(keyFile) is { } keyError)
                        {
                            Error(value, p, keyError);
                        }

                        result = result with { ClientKeyFile = keyFile };
                    }

                    break;
                case "client_key_id":
                    result = result with { ClientKeyId = NonEmptyString(value, p) };
                    break;
                case "client_assertion_audience":
                    result = result with { ClientAssertionAudience = NonEmptyString(value, p) };
                    break;
                case "scopes":
                    var scopes = StringItems(value, p);
                    foreach (var (scope, scopeNode, scopePath) in scopes)
                    {
                        // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
                        if (scope.Any(c => c is <= ' ' or '"' or '\\' or > '~'))
                        {
                            Error(scopeNode, scopePath, $"'{scope}' is not a scope token (RFC 6749 §3.3: no spaces, quotes or backslashes)");
                        }
                    }

                    result = result with { Scopes = scopes.ConvertAll(s => s.Value) };
                    break;
                case "audience":
                    result = result with { Audience = NonEmptyString(value, p) };
                    break;
                case "resource":
                    // RFC 8707 §2: an absolute URI without a fragment.
                    if (NonEmptyString(value, p) is { } resource)
                    {
                        if (!Uri.TryCreate(resource, UriKind.Absolute, out var resourceUri) || resourceUri.Fragment.Length > 0)
                        {
                            Error(value, p, $"'{resource}' is not an absolute URI without a fragment (RFC 8707 §2)");
                        }

                        result = result with { Resource = resource };
                    }

                    break;
                case "actor":
                    result = OneOf(value, p, ConfigKeys.OutboundActors, "actor") == "client_credentials"
                        ? result with { Actor = OutboundActor.ClientCredentials }
                        : result;
                    break;
                case "refresh_before":
                    result = result with { RefreshBefore = Duration(value, p, allowZero: true) ?? result.RefreshBefore };
                    break;
                case "timeout":
                    result = result with { Timeout = Duration(value, p, s_minOutboundTimeout, s_maxOutboundTimeout) ?? result.Timeout };
                    break;
                case "cache_max_entries":
                    result = result with { CacheMaxEntries = (int?)Integer(value, p, 1, MaxCacheEntries) ?? result.CacheMaxEntries };
                    break;
                case "token_endpoint_ca":
                    result = result with { TokenEndpointCa = FilePath(value, p) };
                    break;
                case "circuit_breaker":
                    result = result with { CircuitBreaker = BindCircuitBreaker(value, p) };
                    break;
            }
        }

        var requestsTokens = result.Mode is OutboundTokenMode.ClientCredentials or OutboundTokenMode.Exchange;
        if (!requestsTokens)
        {
            // Keys that only shape a token request do nothing here: say so rather than ignore them.
            foreach (var key in new[] { "issuer", "token_endpoint", "client_id", "client_secret_file", "client_key_file", "client_key_id", "scopes", "audience", "resource" })
            {
                if (nodes.TryGetValue(key, out var unused))
                {
                    Error(unused, Child(path, key), $"{key} is only used with mode: client_credentials or exchange (mode is {ModeName(result.Mode)})");
                }
            }
        }

        if (result.Actor != OutboundActor.None && result.Mode != OutboundTokenMode.Exchange && nodes.TryGetValue("actor", out var actorNode))
        {
            // Note: reported on the token mapping (at the actor's line and column): the actor value itself is fine, the
            // mode is what does not fit it.
            Error(actorNode, path, $"actor: client_credentials is only used with mode: exchange (RFC 8693 actor_token); mode is {ModeName(result.Mode)}");
        }

        if (!requestsTokens)
        {
            return result;
        }

        if (result.Issuer is null && !nodes.ContainsKey("token_endpoint"))
        {
            Missing(mapping, path, "token_endpoint", "or issuer: the name of an issuer whose discovery document names it");
        }

        if (!nodes.ContainsKey("client_id"))
        {
            Missing(mapping, path, "client_id");
        }

        switch (result.ClientAuth)
        {
            case OutboundClientAuth.ClientSecretBasic or OutboundClientAuth.ClientSecretPost when !nodes.ContainsKey("client_secret_file"):
                Missing(mapping, path, "client_secret_file", $"client_auth {ClientAuthName(result.ClientAuth)} needs the client secret");
                break;
            case OutboundClientAuth.PrivateKeyJwt when !nodes.ContainsKey("client_key_file"):
                Missing(mapping, path, "client_key_file", "client_auth private_key_jwt signs an RFC 7523 assertion with this PEM key");
                break;
            case OutboundClientAuth.TlsClientAuth when outbound.ClientCertificate is null:
                Error(mapping, path, "client_auth tls_client_auth (RFC 8705 §2) authenticates with the route's outbound.client_certificate and client_key; set them");
                break;
        }

        if (result.ClientAuth is OutboundClientAuth.PrivateKeyJwt or OutboundClientAuth.TlsClientAuth && nodes.TryGetValue("client_secret_file", out var secretNode))
        {
            Error(secretNode, Child(path, "client_secret_file"), $"client_secret_file is not used with client_auth {ClientAuthName(result.ClientAuth)}");
        }

        if (result.ClientAuth != OutboundClientAuth.PrivateKeyJwt && nodes.TryGetValue("client_key_file", out var keyNode))
        {
            Error(keyNode, Child(path, "client_key_file"), $"client_key_file is only used with client_auth private_key_jwt (client_auth is {ClientAuthName(result.ClientAuth)})");
        }

        return result;
    }

    internal static string ModeName(OutboundTokenMode mode) => mode switch
    {
        OutboundTokenMode.Forward => "forward",
        OutboundTokenMode.ClientCredentials => "client_credentials",
        OutboundTokenMode.Exchange => "exchange",
        _ => "none",
    };

    internal static string ClientAuthName(OutboundClientAuth auth) => auth switch
    {
        OutboundClientAuth.ClientSecretPost => "client_secret_post",
        OutboundClientAuth.PrivateKeyJwt => "private_key_jwt",
        OutboundClientAuth.TlsClientAuth => "tls_client_auth",
        _ => "client_secret_basic",
    };
}
