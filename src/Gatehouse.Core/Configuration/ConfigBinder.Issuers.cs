using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Configuration;

internal sealed partial class ConfigBinder
{
    // Note: the bounds Polly.Core enforces when the resilience pipeline is built (TimeoutStrategyOptions,
    // CircuitBreakerStrategyOptions). Checking them here makes a value outside them a `check` error with a position,
    // instead of an exception when the issuer runtime is compiled.
    private static readonly TimeSpan s_minOutboundTimeout = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan s_maxOutboundTimeout = TimeSpan.FromHours(24);
    private static readonly TimeSpan s_minBreakerDuration = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_maxBreakerDuration = TimeSpan.FromHours(24);

    /// <summary>The default <c>clock_skew</c> of a <c>kind: txn_token</c> issuer.</summary>
    internal static readonly TimeSpan TxnTokenClockSkew = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound of per-issuer and process-wide cache sizes: about 3 GB of claims at 3 KB an entry.</summary>
    private const int MaxCacheEntries = 1_000_000;

    private void BindIssuers(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return;
        }

        foreach (var (key, value, p) in MapEntries(mapping, path))
        {
            _issuers[key.Value] = BindIssuer(key, value, p);
        }
    }

    private IssuerConfig BindIssuer(YScalar name, YNode node, string path)
    {
        var result = new IssuerConfig { Name = name.Value };
        var mapping = AsMapping(node, path);
        if (mapping is null)
        {
            if (node is YScalar { IsNull: true })
            {
                Error(name, path, "an issuer needs at least 'issuer', 'audiences' and a key source (discovery, jwks_uri or jwks_file)");
            }

            return result;
        }

        YNode? issuerNode = null, audiencesNode = null, discoveryNode = null, tenantsNode = null, maxLifetimeNode = null, requireTypeNode = null;
        var keySources = new List<(string Key, YNode Node)>();
        var clockSkewSet = false;
        var hmacAlgorithms = new List<(string Value, YNode Node, string Path)>();
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Issuer))
        {
            switch (key)
            {
                case "issuer":
                    issuerNode = value;
                    result = result with { Issuer = NonEmptyString(value, p) ?? "" };
                    break;
                case "discovery":
                    if (Bool(value, p) is { } discovery)
                    {
                        result = result with { Discovery = discovery || result.DiscoveryUri is not null };
                        if (discovery && discoveryNode is null)
                        {
                            discoveryNode = value;
                            keySources.Add(("discovery", value));
                        }
                    }

                    break;
                case "discovery_uri":
                    // Note: an explicit discovery document URL implies discovery (some providers serve it elsewhere).
                    result = result with { DiscoveryUri = Url(value, p, httpsUnlessLoopback: true), Discovery = true };
                    if (discoveryNode is null)
                    {
                        discoveryNode = value;
                        keySources.Add(("discovery", value));
                    }

                    break;
                case "jwks_uri":
                    result = result with { JwksUri = Url(value, p, httpsUnlessLoopback: true) };
                    keySources.Add(("jwks_uri", value));
                    break;
                case "jwks_file":
                    result = result with { JwksFile = FilePath(value, p) };
                    keySources.Add(("jwks_file", value));
                    break;
                case "audiences":
                    audiencesNode = value;
                    result = result with { Audiences = StringList(value, p) };
                    if (value is YSequence { Items.Count: 0 } or YScalar { IsNull: true })
                    {
                        // Note: design.md — an empty audience list is a config error, never "accept any audience".
                        Error(value, p, "at least one audience is required; an empty list would accept tokens meant for any service");
                    }

                    break;
                case "algorithms":
                    result = result with { Algorithms = BindAlgorithms(value, p, hmacAlgorithms) };
                    break;
                case "clock_skew":
                    clockSkewSet = true;
                    result = result with { ClockSkew = Duration(value, p, allowZero: true) ?? result.ClockSkew };
                    break;
                case "require_type":
                    requireTypeNode = value;
                    result = result with { RequireType = NonEmptyString(value, p) };
                    break;
                case "kind":
                    result = result with
                    {
                        Kind = OneOf(value, p, ConfigKeys.IssuerKinds, "issuer kind") == "txn_token" ? IssuerKind.TxnToken : IssuerKind.AccessToken,
                    };
                    break;
                case "max_lifetime":
                    maxLifetimeNode = value;
                    result = result with { MaxLifetime = Duration(value, p, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) ?? result.MaxLifetime };
                    break;
                case "introspection":
                    result = result with { Introspection = BindIntrospection(value, p) };
                    break;
                case "profile":
                    result = result with { Profile = OneOf(value, p, ConfigKeys.Profiles, "profile") ?? result.Profile };
                    break;
                case "profile_client":
                    result = result with { ProfileClient = NonEmptyString(value, p) };
                    break;
                case "hmac_secret_file":
                    result = result with { HmacSecretFile = FilePath(value, p) };
                    break;
                case "keys":
                    result = result with { Keys = BindKeyRefresh(value, p) };
                    break;
                case "role_mappings":
                    result = result with { RoleMappings = BindRoleMappings(value, p) };
                    break;
                case "require_bound_tokens":
                    result = result with { RequireBoundTokens = Bool(value, p) ?? result.RequireBoundTokens };
                    break;
                case "max_token_bytes":
                    result = result with { MaxTokenBytes = (int?)Size(value, p, 256, 1024 * 1024) ?? result.MaxTokenBytes };
                    break;
                case "circuit_breaker":
                    result = result with { CircuitBreaker = BindCircuitBreaker(value, p) };
                    break;
                case "tenants":
                    tenantsNode = value;
                    result = result with { Tenants = BindTenants(value, p) };
                    break;
            }
        }

        if (issuerNode is null)
        {
            Missing(mapping, path, "issuer", "the exact 'iss' value of the tokens, e.g. https://idp.example.com/");
        }

        if (audiencesNode is null)
        {
            Missing(mapping, path, "audiences", "list the 'aud' values this issuer's tokens must carry (any-of)");
        }

        if (keySources.Count == 0 && result.Introspection is null && result.HmacSecretFile is null)
        {
            Error(mapping, path, "the issuer needs one key source: discovery: true, jwks_uri: URL or jwks_file: PATH (or introspection for opaque tokens)");
        }

        for (var i = 1; i < keySources.Count; i++)
        {
            Error(keySources[i].Node, Child(path, keySources[i].Key),
                $"only one of discovery, jwks_uri, jwks_file may be set; '{keySources[0].Key}' is already set");
        }

        var templated = IssuerTemplate.IsTemplate(result.Issuer);
        if (templated)
        {
            CheckTemplatedIssuer(result, mapping, path, issuerNode!, tenantsNode);
        }
        else if (tenantsNode is not null)
        {
            Error(tenantsNode, Child(path, "tenants"), "tenants applies only to an issuer with a {tenantid} segment (e.g. https://login.microsoftonline.com/{tenantid}/v2.0)");
        }

        if (!templated && result.Discovery && result.DiscoveryUri is null && issuerNode is not null && result.Issuer.Length > 0
            && ConfigValues.ValidateUrl(result.Issuer, httpsUnlessLoopback: true) is { } problem)
        {
            // Note: discovery derives {issuer}/.well-known/openid-configuration, so the issuer must be a fetchable URL.
            Error(issuerNode, Child(path, "issuer"), problem + " (required by discovery: true; or set discovery_uri)");
        }

        CheckTxnTokenIssuer(result, mapping, path, maxLifetimeNode, requireTypeNode, tenantsNode);
        if (result.Kind == IssuerKind.TxnToken && !clockSkewSet)
        {
            // Note: 30 s of leeway is half a Txn-Token's life; the draft wants them short-lived, so is the default leeway.
            result = result with { ClockSkew = TxnTokenClockSkew };
        }

        foreach (var (algorithm, algorithmNode, algorithmPath) in hmacAlgorithms)
        {
            if (result.HmacSecretFile is null)
            {
                // Note: accepting HS* with a JWKS would let anyone holding the public key mint tokens (key confusion).
                Error(algorithmNode, algorithmPath, $"{algorithm} is allowed only together with hmac_secret_file (HMAC is never verified with a public key)");
            }
        }

        return result;
    }

    /// <summary>
    /// A Txn-Token issuer (draft-ietf-oauth-transaction-tokens-10) signs JWS verified with its published keys; the
    /// settings that only make sense for access tokens are refused rather than silently ignored.
    /// </summary>
    private void CheckTxnTokenIssuer(IssuerConfig result, YMapping mapping, string path, YNode? maxLifetimeNode, YNode? requireTypeNode, YNode? tenantsNode)
    {
        if (result.Kind != IssuerKind.TxnToken)
        {
            if (maxLifetimeNode is not null)
            {
                // Note: reported on the issuer (the missing 'kind: txn_token' is what is wrong), not on the value.
                Error(mapping, path, "max_lifetime applies only to kind: txn_token");
            }

            return;
        }

        if (requireTypeNode is not null)
        {
            Error(requireTypeNode, Child(path, "require_type"), "a txn_token issuer always requires typ txntoken+jwt (draft-ietf-oauth-transaction-tokens §4.1); remove require_type");
        }

        if (result.Introspection is not null || result.HmacSecretFile is not null)
        {
            Error(mapping, path, "a txn_token issuer verifies signed JWTs with its published keys: introspection and hmac_secret_file do not apply");
        }

        if (tenantsNode is not null || IssuerTemplate.IsTemplate(result.Issuer))
        {
            Error(mapping, path, "a txn_token issuer names one Txn-Token Service: no {tenantid} template, no tenants");
        }

        if (result.RequireBoundTokens)
        {
            Error(mapping, path, "require_bound_tokens does not apply to a txn_token issuer (a Txn-Token is bound to its transaction, not to a key)");
        }
    }

    private void CheckTemplatedIssuer(IssuerConfig result, YMapping mapping, string path, YNode issuerNode, YNode? tenantsNode)
    {
        if (IssuerTemplate.Problem(result.Issuer) is { } problem)
        {
            Error(issuerNode, Child(path, "issuer"), problem);
        }

        if (tenantsNode is null)
        {
            // Note: Entra's signing keys are shared by every tenant; without an allow-list any tenant's token for this
            // audience would pass. Accepting all tenants must be said out loud ('*').
            Missing(mapping, path, "tenants", "an issuer with {tenantid} needs the tenant ids it accepts, or ['*'] for any tenant");
        }

        if (result.Discovery && result.DiscoveryUri is null)
        {
            Error(issuerNode, Child(path, "issuer"),
                "discovery of a templated issuer needs discovery_uri, e.g. https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration");
        }
    }

    private List<string> BindTenants(YNode node, string path)
    {
        var items = StringItems(node, path);
        if (node is YSequence { Items.Count: 0 })
        {
            Error(node, path, "at least one tenant id is required, or '*' for any tenant");
        }

        var tenants = new List<string>();
        foreach (var (value, itemNode, itemPath) in items)
        {
            if (IssuerTemplate.TenantProblem(value) is { } problem)
            {
                Error(itemNode, itemPath, problem);
                continue;
            }

            tenants.Add(value);
        }

        if (tenants.Contains(IssuerTemplate.AnyTenant) && tenants.Count > 1)
        {
            Error(node, path, "'*' accepts every tenant; list tenant ids or '*', not both");
        }

        return tenants;
    }

    private List<string> BindAlgorithms(YNode node, string path, List<(string, YNode, string)> hmacAlgorithms)
    {
        var items = StringItems(node, path);
        if (node is YSequence { Items.Count: 0 })
        {
            Error(node, path, "at least one algorithm is required (omit the key for the default RS256, ES256)");
        }

        var result = new List<string>(items.Count);
        foreach (var (value, itemNode, itemPath) in items)
        {
            if (Array.IndexOf(ConfigKeys.AsymmetricAlgorithms, value) >= 0)
            {
                result.Add(value);
            }
            else if (Array.IndexOf(ConfigKeys.HmacAlgorithms, value) >= 0)
            {
                result.Add(value);
                hmacAlgorithms.Add((value, itemNode, itemPath));
            }
            else if (string.Equals(value, "none", StringComparison.OrdinalIgnoreCase))
            {
                Error(itemNode, itemPath, "'none' is never accepted: unsigned tokens prove nothing (RFC 8725 §3.1)");
            }
            else
            {
                var suggestion = ConfigKeys.Closest(value, [.. ConfigKeys.AsymmetricAlgorithms, .. ConfigKeys.HmacAlgorithms]);
                Error(itemNode, itemPath, $"unsupported algorithm '{value}'; expected one of: {string.Join(", ", ConfigKeys.AsymmetricAlgorithms)}"
                    + " (HS256/384/512 only with hmac_secret_file)" + (suggestion is null ? "" : $"; did you mean '{suggestion}'?"));
            }
        }

        return result;
    }

    private IntrospectionConfig? BindIntrospection(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new IntrospectionConfig();
        bool sawEndpoint = false, sawClientId = false;
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Introspection))
        {
            switch (key)
            {
                case "endpoint":
                    sawEndpoint = true;
                    result = result with { Endpoint = Url(value, p, httpsUnlessLoopback: true) ?? "" };
                    break;
                case "client_id":
                    sawClientId = true;
                    result = result with { ClientId = NonEmptyString(value, p) ?? "" };
                    break;
                case "client_secret_file":
                    result = result with { ClientSecretFile = FilePath(value, p) };
                    break;
                case "auth_method":
                    result = result with { AuthMethod = OneOf(value, p, ConfigKeys.IntrospectionAuthMethods, "auth method") ?? result.AuthMethod };
                    break;
                case "cache_ttl":
                    result = result with { CacheTtl = Duration(value, p, allowZero: true) ?? result.CacheTtl };
                    break;
                case "negative_cache_ttl":
                    result = result with { NegativeCacheTtl = Duration(value, p, allowZero: true) ?? result.NegativeCacheTtl };
                    break;
                case "timeout":
                    result = result with { Timeout = Duration(value, p, s_minOutboundTimeout, s_maxOutboundTimeout) ?? result.Timeout };
                    break;
                case "max_response_bytes":
                    result = result with { MaxResponseBytes = (int?)Size(value, p, 1024, 16 * 1024 * 1024) ?? result.MaxResponseBytes };
                    break;
                case "cache_max_entries":
                    // Note: no 0 to disable; cache_ttl: 0 does that, and a bound of 0 would read as "unbounded".
                    result = result with { CacheMaxEntries = (int?)Integer(value, p, 1, MaxCacheEntries) ?? result.CacheMaxEntries };
                    break;
            }
        }

        if (!sawEndpoint)
        {
            Missing(mapping, path, "endpoint", "the RFC 7662 introspection URL");
        }

        if (!sawClientId)
        {
            Missing(mapping, path, "client_id");
        }

        return result;
    }

    private KeyRefreshConfig BindKeyRefresh(YNode node, string path)
    {
        var result = new KeyRefreshConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Keys))
        {
            switch (key)
            {
                case "refresh_interval":
                    result = result with { RefreshInterval = Duration(value, p) ?? result.RefreshInterval };
                    break;
                case "min_refresh_interval":
                    result = result with { MinRefreshInterval = Duration(value, p, allowZero: true) ?? result.MinRefreshInterval };
                    break;
                case "max_stale":
                    result = result with { MaxStale = Duration(value, p, allowZero: true) ?? result.MaxStale };
                    break;
                case "fetch_timeout":
                    result = result with { FetchTimeout = Duration(value, p, s_minOutboundTimeout, s_maxOutboundTimeout) ?? result.FetchTimeout };
                    break;
                case "max_document_bytes":
                    result = result with { MaxDocumentBytes = (int?)Size(value, p, 1024, 64 * 1024 * 1024) ?? result.MaxDocumentBytes };
                    break;
            }
        }

        return result;
    }

    private CircuitBreakerConfig BindCircuitBreaker(YNode node, string path)
    {
        var result = new CircuitBreakerConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.CircuitBreaker))
        {
            switch (key)
            {
                case "failure_ratio":
                    result = result with { FailureRatio = Ratio(value, p) ?? result.FailureRatio };
                    break;
                case "minimum_throughput":
                    // Note: Polly.Core needs at least 2; one failed call alone should never cut an issuer off.
                    result = result with { MinimumThroughput = (int?)Integer(value, p, 2, 10_000) ?? result.MinimumThroughput };
                    break;
                case "sampling_duration":
                    result = result with { SamplingDuration = Duration(value, p, s_minBreakerDuration, s_maxBreakerDuration) ?? result.SamplingDuration };
                    break;
                case "break_duration":
                    result = result with { BreakDuration = Duration(value, p, s_minBreakerDuration, s_maxBreakerDuration) ?? result.BreakDuration };
                    break;
            }
        }

        return result;
    }

    private List<RoleMappingConfig> BindRoleMappings(YNode node, string path)
    {
        var result = new List<RoleMappingConfig>();
        if (AsSequence(node, path) is not { } sequence)
        {
            return result;
        }

        for (var i = 0; i < sequence.Items.Count; i++)
        {
            var itemPath = Index(path, i);
            if (AsMapping(sequence.Items[i], itemPath) is not { } mapping)
            {
                continue;
            }

            var mappingConfig = new RoleMappingConfig();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value, p) in Entries(mapping, itemPath, ConfigKeys.RoleMapping))
            {
                seen.Add(key);
                var text = NonEmptyString(value, p) ?? "";
                mappingConfig = key switch
                {
                    "claim" => mappingConfig with { Claim = text },
                    "value" => mappingConfig with { Value = text },
                    _ => mappingConfig with { Role = text },
                };
            }

            foreach (var required in ConfigKeys.RoleMapping)
            {
                if (!seen.Contains(required))
                {
                    Missing(mapping, itemPath, required);
                }
            }

            result.Add(mappingConfig);
        }

        return result;
    }
}
