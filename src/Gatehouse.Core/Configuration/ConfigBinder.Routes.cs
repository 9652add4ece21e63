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
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Outbound))
        {
            switch (key)
            {
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

        return result;
    }
}
