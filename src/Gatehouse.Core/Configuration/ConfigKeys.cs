namespace Gatehouse.Configuration;

/// <summary>
/// Every YAML key the binder knows, per section, taken from the one declaration list (<see cref="ConfigKeyRegistry"/>):
/// a key is added there, never here. The binder rejects anything else (suggesting the closest key).
/// </summary>
internal static class ConfigKeys
{
    public static readonly string[] Root = ConfigKeyRegistry.NamesOf("root");

    public static readonly string[] Issuer = ConfigKeyRegistry.NamesOf("issuer");

    public static readonly string[] CircuitBreaker = ConfigKeyRegistry.NamesOf("circuit_breaker");

    public static readonly string[] Keys = ConfigKeyRegistry.NamesOf("keys");

    public static readonly string[] Introspection = ConfigKeyRegistry.NamesOf("introspection");

    public static readonly string[] RoleMapping = ConfigKeyRegistry.NamesOf("role_mapping");

    public static readonly string[] Listener = ConfigKeyRegistry.NamesOf("listener");

    /// <summary><c>listeners[].headers_with_underscores</c> values.</summary>
    public static readonly string[] HeadersWithUnderscores = ConfigKeyRegistry.ValuesOf("listener", "headers_with_underscores");

    public static readonly string[] ExtAuthz = ConfigKeyRegistry.NamesOf("ext_authz");

    /// <summary>Keys of a <c>tls.trust_bundles.TD</c> mapping (a federation bundle endpoint).</summary>
    public static readonly string[] TrustBundleEndpoint = ConfigKeyRegistry.NamesOf("trust_bundle_endpoint");

    public static readonly string[] Tls = ConfigKeyRegistry.NamesOf("tls");

    public static readonly string[] Route = ConfigKeyRegistry.NamesOf("route");

    public static readonly string[] Match = ConfigKeyRegistry.NamesOf("match");

    public static readonly string[] Authentication = ConfigKeyRegistry.NamesOf("authentication");

    public static readonly string[] Outbound = ConfigKeyRegistry.NamesOf("outbound");

    public static readonly string[] OutboundToken = ConfigKeyRegistry.NamesOf("outbound_token");

    public static readonly string[] OutboundTxnToken = ConfigKeyRegistry.NamesOf("outbound_txn_token");

    public static readonly string[] OutboundTokenModes = ConfigKeyRegistry.ValuesOf("outbound_token", "mode");

    public static readonly string[] OutboundClientAuthMethods = ConfigKeyRegistry.ValuesOf("outbound_token", "client_auth");

    public static readonly string[] OutboundActors = ConfigKeyRegistry.ValuesOf("outbound_token", "actor");

    public static readonly string[] Policy = ConfigKeyRegistry.NamesOf("policy");

    public static readonly string[] Rule = ConfigKeyRegistry.NamesOf("rule");

    public static readonly string[] From = ConfigKeyRegistry.NamesOf("from");

    public static readonly string[] To = ConfigKeyRegistry.NamesOf("to");

    public static readonly string[] Audit = ConfigKeyRegistry.NamesOf("audit");

    public static readonly string[] Limits = ConfigKeyRegistry.NamesOf("limits");

    public static readonly string[] Paths = ConfigKeyRegistry.NamesOf("paths");

    public static readonly string[] Telemetry = ConfigKeyRegistry.NamesOf("telemetry");

    public static readonly string[] DecisionCache = ConfigKeyRegistry.NamesOf("decision_cache");

    public static readonly string[] Dpop = ConfigKeyRegistry.NamesOf("dpop");

    public static readonly string[] State = ConfigKeyRegistry.NamesOf("state");

    public static readonly string[] Redis = ConfigKeyRegistry.NamesOf("redis");

    public static readonly string[] Admin = ConfigKeyRegistry.NamesOf("admin");

    public static readonly string[] TxnTokens = ConfigKeyRegistry.NamesOf("txn_tokens");

    public static readonly string[] TxnSigningKey = ConfigKeyRegistry.NamesOf("txn_signing_key");

    public static readonly string[] TxnSigningKeys = ConfigKeyRegistry.NamesOf("txn_signing_keys");

    /// <summary>Algorithms a Txn-Token signing key may use.</summary>
    public static readonly string[] TxnSigningAlgorithms = ConfigKeyRegistry.ValuesOf("txn_signing_key", "algorithm");

    /// <summary>Keys of <c>when</c> (besides <c>claims.PATH</c> and <c>not_claims.PATH</c>).</summary>
    public static readonly string[] When =
    [
        "scopes", "roles", "not_scopes", "not_roles", "client_id", "subject", "issuer", "not_client_id", "not_subject",
        "not_issuer", "actor", "actors", "not_actor", "not_actors",
    ];

    /// <summary>Section name (the schema's <c>$defs</c> name, or <c>root</c>) → keys.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Sections =
        ConfigKeyRegistry.Sections.ToDictionary(s => s.Name, s => ConfigKeyRegistry.NamesOf(s.Name), StringComparer.Ordinal);

    public static readonly string[] Profiles = ConfigKeyRegistry.ValuesOf("issuer", "profile");

    /// <summary><c>issuers.NAME.kind</c> values.</summary>
    public static readonly string[] IssuerKinds = ConfigKeyRegistry.ValuesOf("issuer", "kind");

    public static readonly string[] AsymmetricAlgorithms =
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

    public static readonly string[] HmacAlgorithms = ["HS256", "HS384", "HS512"];

    public static readonly string[] IntrospectionAuthMethods = ConfigKeyRegistry.ValuesOf("introspection", "auth_method");

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
