namespace Gatehouse.Configuration;

/// <summary>
/// Every YAML key the binder knows, per section. The binder rejects anything else (suggesting the closest key) and
/// a test checks these lists against <c>schema/gatehouse.schema.json</c> (root <c>properties</c> and <c>$defs</c>)
/// so the schema, the docs and the binder cannot drift apart.
/// </summary>
internal static class ConfigKeys
{
    public static readonly string[] Root =
        ["version", "issuers", "listeners", "routes", "policies", "audit", "limits", "paths", "telemetry", "decision_cache"];

    public static readonly string[] Issuer =
    [
        "issuer", "discovery", "discovery_uri", "jwks_uri", "jwks_file", "audiences", "algorithms", "clock_skew",
        "require_type", "introspection", "profile", "profile_client", "hmac_secret_file", "keys", "role_mappings",
        "require_bound_tokens", "max_token_bytes", "circuit_breaker", "tenants",
    ];

    public static readonly string[] CircuitBreaker = ["failure_ratio", "minimum_throughput", "sampling_duration", "break_duration"];

    public static readonly string[] Keys = ["refresh_interval", "min_refresh_interval", "max_stale", "fetch_timeout", "max_document_bytes"];

    public static readonly string[] Introspection =
    [
        "endpoint", "client_id", "client_secret_file", "auth_method", "cache_ttl", "negative_cache_ttl", "timeout",
        "max_response_bytes", "cache_max_entries",
    ];

    public static readonly string[] RoleMapping = ["claim", "value", "role"];

    public static readonly string[] Listener = ["name", "mode", "address", "tls", "trust_forwarded_client_cert", "routes", "ext_authz", "include_error_details"];

    public static readonly string[] ExtAuthz = ["path_prefix", "max_receive_message_bytes", "include_error_details"];

    public static readonly string[] Tls = ["certificate", "key", "client_ca", "client_certificate", "trust_bundles"];

    /// <summary>Keys of a <c>tls.trust_bundles.TD</c> mapping (a federation bundle endpoint).</summary>
    public static readonly string[] TrustBundleEndpoint = ["endpoint", "refresh_interval", "max_stale", "fetch_timeout", "endpoint_ca"];

    public static readonly string[] Route = ["name", "match", "upstream", "authentication", "policies", "claim_headers", "timeout", "outbound"];

    public static readonly string[] Match = ["hosts", "path_prefix"];

    public static readonly string[] Authentication =
        ["issuers", "require_token", "forward_authorization", "required_scopes", "require_bound_tokens", "max_delegation_depth"];

    public static readonly string[] Outbound = ["client_certificate", "client_key", "trust_bundle", "expected_peer"];

    public static readonly string[] Policy = ["action", "dry_run", "global", "rules"];

    public static readonly string[] Rule = ["from", "to", "when"];

    public static readonly string[] From =
    [
        "principals", "not_principals", "namespaces", "not_namespaces", "ip_blocks", "not_ip_blocks",
        "request_principals", "not_request_principals",
    ];

    public static readonly string[] To = ["hosts", "not_hosts", "ports", "not_ports", "methods", "not_methods", "paths", "not_paths"];

    public static readonly string[] Audit = ["path", "stdout", "max_file_bytes", "max_files", "queue_capacity", "include_query"];

    public static readonly string[] Limits =
    [
        "max_request_headers_total_bytes", "max_request_header_count", "max_request_body_bytes", "max_concurrent_requests",
        "max_verified_token_cache_entries",
    ];

    public static readonly string[] Paths = ["merge_slashes", "lowercase_paths", "reject_encoded_slash", "allow_path_parameters"];

    public static readonly string[] Telemetry = ["otlp_endpoint", "service_name"];

    public static readonly string[] DecisionCache = ["ttl", "max_entries"];

    /// <summary>Keys of <c>when</c> (besides <c>claims.PATH</c> and <c>not_claims.PATH</c>).</summary>
    public static readonly string[] When =
    [
        "scopes", "roles", "not_scopes", "not_roles", "client_id", "subject", "issuer", "not_client_id", "not_subject",
        "not_issuer", "actor", "actors", "not_actor", "not_actors",
    ];

    /// <summary>Section name (the schema's <c>$defs</c> name, or <c>root</c>) → keys.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Sections = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["root"] = Root,
        ["issuer"] = Issuer,
        ["keys"] = Keys,
        ["circuit_breaker"] = CircuitBreaker,
        ["introspection"] = Introspection,
        ["role_mapping"] = RoleMapping,
        ["listener"] = Listener,
        ["tls"] = Tls,
        ["trust_bundle_endpoint"] = TrustBundleEndpoint,
        ["ext_authz"] = ExtAuthz,
        ["route"] = Route,
        ["match"] = Match,
        ["authentication"] = Authentication,
        ["outbound"] = Outbound,
        ["policy"] = Policy,
        ["rule"] = Rule,
        ["from"] = From,
        ["to"] = To,
        ["audit"] = Audit,
        ["limits"] = Limits,
        ["paths"] = Paths,
        ["telemetry"] = Telemetry,
        ["decision_cache"] = DecisionCache,
    };

    public static readonly string[] Profiles = ["generic", "okta", "auth0", "keycloak", "entra", "cognito"];

    public static readonly string[] AsymmetricAlgorithms =
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    public static readonly string[] HmacAlgorithms = ["HS256", "HS384", "HS512"];

    public static readonly string[] IntrospectionAuthMethods = ["client_secret_basic", "client_secret_post"];

    /// <summary>The closest candidate within a small edit distance, for "did you mean" hints.</summary>
    public static string? Closest(string key, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = Distance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        // Note: allow roughly one typo per three characters so 'audience' → 'audiences' and 'jwks_url' → 'jwks_uri'
        // are suggested, but unrelated short keys are not.
        return best is not null && bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
