using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary>One error class: a config with exactly that mistake and where it must be reported.</summary>
public sealed record ErrorCase(string Name)
{
    public required string Yaml { get; init; }
    public required string Path { get; init; }
    public required int Line { get; init; }
    public required int Column { get; init; }
    public required string Message { get; init; }

    /// <summary>How many errors the config has in all (a mistake can imply another, e.g. a misspelt required key).</summary>
    public int Count { get; init; } = 1;

    public override string ToString() => Name;
}

public sealed class ConfigLoaderErrorTests : IDisposable
{
    private static readonly Dictionary<string, string> s_noEnvironment = [];
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    // A valid config: each case replaces one part of it. Line numbers below refer to the case's own text.
    private const string Issuers = """
        issuers:
          corp:
            issuer: https://idp.example.com/
            jwks_file: jwks.json
            audiences: [orders]
        """;

    private const string ListenersAndRoutes = """
        listeners:
          - { name: edge, mode: gateway, address: 127.0.0.1:8080 }
        routes:
          - name: orders
            upstream: http://127.0.0.1:5001
        """;

    private static string Valid(string issuers = Issuers, string rest = ListenersAndRoutes, string extra = "") =>
        "version: 1\n" + issuers + "\n" + rest + "\n" + extra;

    public static TheoryData<ErrorCase> Cases => new()
    {
        new("YamlSyntaxError_ReportsLine")
        {
            Yaml = "version: 1\nissuers:\n  corp: { issuer: x\nlisteners: []\n",
            Path = "<yaml>", Line = 3, Column = 9, Message = "YAML syntax error",
        },
        new("YamlSyntaxError_BadIndentation")
        {
            Yaml = "version: 1\nissuers:\n  corp:\n    issuer: https://idp.example.com/\n   audiences: [orders]\n",
            Path = "<yaml>", Line = 5, Column = 4, Message = "YAML syntax error",
        },
        new("Tab_InIndentation")
        {
            Yaml = "version: 1\nissuers:\n\tcorp: {}\n",
            Path = "<yaml>", Line = 3, Column = 1, Message = "tab character",
        },
        new("DuplicateKey_Reported")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    issuer: https://other.example.com/"),
            Path = "issuers.corp.issuer", Line = 7, Column = 5, Message = "duplicate key 'issuer' (first defined at line 4, column 5)",
        },
        new("UnknownKey_SuggestsClosest")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audience: [orders]"),
            Path = "issuers.corp.audience", Line = 6, Column = 5, Message = "unknown key 'audience'; did you mean 'audiences'?", Count = 2,
        },
        new("UnknownKey_TopLevel")
        {
            Yaml = Valid(extra: "listner: []\n"),
            Path = "listner", Line = 12, Column = 1, Message = "did you mean 'listeners'?",
        },
        new("WrongType_ScalarForList")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: orders"),
            Path = "issuers.corp.audiences", Line = 6, Column = 16, Message = "expected a list",
        },
        new("WrongType_Bool")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001\n    authentication: { require_token: yes }"),
            Path = "routes[0].authentication.require_token", Line = 12, Column = 38, Message = "expected true or false, got 'yes'",
        },
        new("MaxDelegationDepth_OutOfRange")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001\n    authentication: { max_delegation_depth: 17 }"),
            Path = "routes[0].authentication.max_delegation_depth", Line = 12, Column = 45, Message = "between 0 and 16",
        },
        new("When_UnknownActorKey_SuggestsClosest")
        {
            Yaml = Valid(extra: "policies:\n  p:\n    rules:\n      - when: { actr: [billing-agent] }\n"),
            Path = "policies.p.rules[0].when.actr", Line = 15, Column = 17, Message = "(did you mean 'actor'?)",
        },
        new("TrustBundleEndpoint_MissingEndpoint")
        {
            Yaml = Valid(rest: "listeners:\n  - name: edge\n    mode: gateway\n    address: 127.0.0.1:8443\n    tls:\n      certificate: jwks.json\n      key: jwks.json\n      trust_bundles:\n        west.example: { refresh_interval: 5m }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].tls.trust_bundles[\"west.example\"].endpoint", Line = 15, Column = 23, Message = "required field 'endpoint' is missing",
        },
        new("TrustBundleEndpoint_PlainHttpToARemoteHost")
        {
            Yaml = Valid(rest: "listeners:\n  - name: edge\n    mode: gateway\n    address: 127.0.0.1:8443\n    tls:\n      certificate: jwks.json\n      key: jwks.json\n      trust_bundles:\n        west.example: { endpoint: http://spire.west.example/bundle }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].tls.trust_bundles[\"west.example\"].endpoint", Line = 15, Column = 35, Message = "https",
        },
        new("TrustBundleEndpoint_MaxStaleShorterThanRefresh")
        {
            Yaml = Valid(rest: "listeners:\n  - name: edge\n    mode: gateway\n    address: 127.0.0.1:8443\n    tls:\n      certificate: jwks.json\n      key: jwks.json\n      trust_bundles:\n        west.example: { endpoint: https://spire.west.example/bundle, refresh_interval: 10m, max_stale: 5m }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].tls.trust_bundles[\"west.example\"].max_stale", Line = 15, Column = 104, Message = "max_stale (5m) is shorter than refresh_interval (10m)",
        },
        new("TrustBundle_InvalidTrustDomainName")
        {
            Yaml = Valid(rest: "listeners:\n  - name: edge\n    mode: gateway\n    address: 127.0.0.1:8443\n    tls:\n      certificate: jwks.json\n      key: jwks.json\n      trust_bundles:\n        West.Example: jwks.json\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].tls.trust_bundles[\"West.Example\"]", Line = 15, Column = 9, Message = "not a SPIFFE trust domain name",
        },
        new("TrustBundleEndpoint_UnknownKey")
        {
            Yaml = Valid(rest: "listeners:\n  - name: edge\n    mode: gateway\n    address: 127.0.0.1:8443\n    tls:\n      certificate: jwks.json\n      key: jwks.json\n      trust_bundles:\n        west.example: { endpoint: https://spire.west.example/bundle, max_stal: 1h }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].tls.trust_bundles[\"west.example\"].max_stal", Line = 15, Column = 70, Message = "did you mean 'max_stale'?",
        },
        new("WrongType_Duration")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    clock_skew: 30 seconds"),
            Path = "issuers.corp.clock_skew", Line = 7, Column = 17, Message = "expected a duration",
        },
        new("Missing_Issuer")
        {
            Yaml = Valid("issuers:\n  corp:\n    jwks_file: jwks.json\n    audiences: [orders]"),
            Path = "issuers.corp.issuer", Line = 4, Column = 5, Message = "required field 'issuer' is missing",
        },
        new("Missing_Audiences")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json"),
            Path = "issuers.corp.audiences", Line = 4, Column = 5, Message = "required field 'audiences' is missing",
        },
        new("EmptyAudiences_IsError")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: []"),
            Path = "issuers.corp.audiences", Line = 6, Column = 16, Message = "at least one audience is required",
        },
        new("KeySource_None")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    audiences: [orders]"),
            Path = "issuers.corp", Line = 4, Column = 5, Message = "one key source",
        },
        new("KeySource_Two")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    jwks_uri: https://idp.example.com/jwks\n    audiences: [orders]"),
            Path = "issuers.corp.jwks_uri", Line = 6, Column = 15, Message = "only one of discovery, jwks_uri, jwks_file",
        },
        new("Listener_MissingName")
        {
            Yaml = Valid(rest: "listeners:\n  - { mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].name", Line = 8, Column = 5, Message = "required field 'name' is missing",
        },
        new("Listener_MissingMode")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].mode", Line = 8, Column = 5, Message = "required field 'mode' is missing",
        },
        new("Listener_MissingAddress")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].address", Line = 8, Column = 5, Message = "required field 'address' is missing",
        },
        new("Listener_UnknownMode")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gatway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].mode", Line = 8, Column = 25, Message = "did you mean 'gateway'?",
        },
        new("Listener_BadAddress")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:99999 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].address", Line = 8, Column = 43, Message = "not a port number",
        },
        new("Listener_AddressWithoutPort")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: localhost }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].address", Line = 8, Column = 43, Message = "not a host:port address",
        },
        new("Listener_DuplicateName")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\n  - { name: edge, mode: gateway, address: 127.0.0.1:8081 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[1].name", Line = 9, Column = 13, Message = "duplicate listener name 'edge'",
        },
        new("Listener_TwoAdmins")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\n  - { name: admin1, mode: admin, address: 127.0.0.1:9901 }\n  - { name: admin2, mode: admin, address: 127.0.0.1:9902 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[2].mode", Line = 10, Column = 27, Message = "at most one admin listener",
        },
        new("Route_MissingUpstream")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    match: { path_prefix: /orders }"),
            Path = "routes[0].upstream", Line = 10, Column = 5, Message = "required field 'upstream' is missing",
        },
        new("Route_DuplicateName")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - { name: orders, upstream: http://127.0.0.1:5001 }\n  - { name: orders, upstream: http://127.0.0.1:5002 }"),
            Path = "routes[1].name", Line = 11, Column = 13, Message = "duplicate route name 'orders'",
        },
        new("Route_UnknownIssuer")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001\n    authentication: { issuers: [corp, crop] }"),
            Path = "routes[0].authentication.issuers[1]", Line = 12, Column = 39, Message = "unknown issuer 'crop'; did you mean 'corp'?",
        },
        new("Route_UnknownPolicy")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001\n    policies: [orders-read]"),
            Path = "routes[0].policies[0]", Line = 12, Column = 16, Message = "unknown policy 'orders-read'",
        },
        new("Route_RelativeUpstream")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: /orders"),
            Path = "routes[0].upstream", Line = 11, Column = 15, Message = "not an absolute http(s) URL",
        },
        new("Url_JwksOverHttpNotLoopback")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_uri: http://idp.example.com/jwks\n    audiences: [orders]"),
            Path = "issuers.corp.jwks_uri", Line = 5, Column = 15, Message = "must use https",
        },
        new("Url_IntrospectionNotUrl")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    audiences: [orders]\n    introspection: { endpoint: idp/introspect, client_id: gh }"),
            Path = "issuers.corp.introspection.endpoint", Line = 6, Column = 32, Message = "not an absolute http(s) URL",
        },
        new("Algorithm_None")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    algorithms: [RS256, none]"),
            Path = "issuers.corp.algorithms[1]", Line = 7, Column = 25, Message = "'none' is never accepted",
        },
        new("Algorithm_HmacWithoutSecret")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    algorithms: [HS256]"),
            Path = "issuers.corp.algorithms[0]", Line = 7, Column = 18, Message = "only together with hmac_secret_file",
        },
        new("Algorithm_Unknown")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    algorithms: [RS265]"),
            Path = "issuers.corp.algorithms[0]", Line = 7, Column = 18, Message = "unsupported algorithm 'RS265'",
        },
        new("File_Unreadable")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: missing.json\n    audiences: [orders]"),
            Path = "issuers.corp.jwks_file", Line = 5, Column = 16, Message = "file not found",
        },
        new("File_TlsKeyUnreadable")
        {
            Yaml = Valid(rest: "listeners:\n  - name: edge\n    mode: gateway\n    address: 127.0.0.1:8443\n    tls: { certificate: cert.pem, key: nokey.pem }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].tls.key", Line = 11, Column = 40, Message = "file not found",
        },
        new("Cidr_Invalid")
        {
            Yaml = Valid(extra: "policies:\n  p:\n    rules:\n      - from: { ip_blocks: [10.0.0.0/33] }\n"),
            Path = "policies.p.rules[0].from.ip_blocks[0]", Line = 15, Column = 29, Message = "not an IP address or CIDR block",
        },
        new("Profile_Unknown")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    profile: keyclaok"),
            Path = "issuers.corp.profile", Line = 7, Column = 14, Message = "unknown profile 'keyclaok'",
        },
        new("Version_Unsupported")
        {
            Yaml = "version: 2\n" + Issuers + "\n" + ListenersAndRoutes + "\n",
            Path = "version", Line = 1, Column = 10, Message = "unsupported config version 2",
        },
        new("Version_Missing")
        {
            Yaml = Issuers + "\n" + ListenersAndRoutes + "\n",
            Path = "version", Line = 1, Column = 1, Message = "required field 'version' is missing",
        },
        new("Policy_UnknownAction")
        {
            Yaml = Valid(extra: "policies:\n  p:\n    action: permit\n"),
            Path = "policies.p.action", Line = 14, Column = 13, Message = "unknown policy action 'permit'",
        },
        new("Policy_UnknownWhenKey")
        {
            Yaml = Valid(extra: "policies:\n  p:\n    rules:\n      - when: { scope: [a] }\n"),
            Path = "policies.p.rules[0].when.scope", Line = 15, Column = 17, Message = "did you mean 'scopes'?",
        },
        new("Route_MissingName")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - upstream: http://127.0.0.1:5001"),
            Path = "routes[0].name", Line = 10, Column = 5, Message = "required field 'name' is missing",
        },
        new("Route_PathPrefixWithoutSlash")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001\n    match: { path_prefix: orders }"),
            Path = "routes[0].match.path_prefix", Line = 12, Column = 27, Message = "must start with '/'",
        },
        new("Listener_UnknownRouteReference")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080, routes: [order] }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].routes[0]", Line = 8, Column = 68, Message = "unknown route 'order'; did you mean 'orders'?",
        },
        new("Url_DiscoveryIssuerNotHttps")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: http://idp.example.com/\n    discovery: true\n    audiences: [orders]"),
            Path = "issuers.corp.issuer", Line = 4, Column = 13, Message = "must use https",
        },
        new("Tls_RequireClientCertWithoutCa")
        {
            Yaml = Valid(rest: "listeners:\n  - name: edge\n    mode: gateway\n    address: 127.0.0.1:8443\n    tls: { certificate: cert.pem, key: key.pem, client_certificate: require }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].tls.client_certificate", Line = 11, Column = 69, Message = "set client_ca or trust_bundles",
        },
        new("Policy_BadPort")
        {
            Yaml = Valid(extra: "policies:\n  p:\n    rules:\n      - to: { ports: [70000] }\n"),
            Path = "policies.p.rules[0].to.ports[0]", Line = 15, Column = 23, Message = "not a port number",
        },
        new("Route_BadClaimHeaderName")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001\n    claim_headers: { \"X User\": sub }"),
            Path = "routes[0].claim_headers[\"X User\"]", Line = 12, Column = 22, Message = "not a valid HTTP header name",
        },
        new("CircuitBreaker_FailureRatioZero")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    circuit_breaker: { failure_ratio: 0 }"),
            Path = "issuers.corp.circuit_breaker.failure_ratio", Line = 7, Column = 39, Message = "must be greater than 0 and at most 1, got 0",
        },
        new("CircuitBreaker_FailureRatioAboveOne")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    circuit_breaker: { failure_ratio: 1.5 }"),
            Path = "issuers.corp.circuit_breaker.failure_ratio", Line = 7, Column = 39, Message = "must be greater than 0 and at most 1, got 1.5",
        },
        new("CircuitBreaker_FailureRatioNotANumber")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    circuit_breaker: { failure_ratio: half }"),
            Path = "issuers.corp.circuit_breaker.failure_ratio", Line = 7, Column = 39, Message = "expected a ratio between 0 and 1 (e.g. 0.5), got 'half'",
        },
        new("CircuitBreaker_MinimumThroughputBelowTwo")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    circuit_breaker: { minimum_throughput: 1 }"),
            Path = "issuers.corp.circuit_breaker.minimum_throughput", Line = 7, Column = 44, Message = "must be between 2 and 10000, got 1",
        },
        new("CircuitBreaker_SamplingDurationTooShort")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    circuit_breaker: { sampling_duration: 100ms }"),
            Path = "issuers.corp.circuit_breaker.sampling_duration", Line = 7, Column = 43, Message = "must be between 500ms and 1d, got 100ms",
        },
        new("CircuitBreaker_BreakDurationTooLong")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    circuit_breaker: { break_duration: 2d }"),
            Path = "issuers.corp.circuit_breaker.break_duration", Line = 7, Column = 40, Message = "must be between 500ms and 1d, got 2d",
        },
        new("CircuitBreaker_UnknownKey")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    circuit_breaker: { break_duratoin: 10s }"),
            Path = "issuers.corp.circuit_breaker.break_duratoin", Line = 7, Column = 24, Message = "unknown key 'break_duratoin'; did you mean 'break_duration'?",
        },
        new("TemplatedIssuer_WithoutTenants")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://login.microsoftonline.com/{tenantid}/v2.0\n    jwks_file: jwks.json\n    audiences: [orders]"),
            Path = "issuers.corp.tenants", Line = 4, Column = 5, Message = "required field 'tenants' is missing; an issuer with {tenantid} needs the tenant ids it accepts, or ['*'] for any tenant",
        },
        new("Tenants_OnAnExactIssuer")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    tenants: ['*']"),
            Path = "issuers.corp.tenants", Line = 7, Column = 14, Message = "tenants applies only to an issuer with a {tenantid} segment (e.g. https://login.microsoftonline.com/{tenantid}/v2.0)",
        },
        new("Tenants_NotAGuid")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://login.microsoftonline.com/{tenantid}/v2.0\n    jwks_file: jwks.json\n    audiences: [orders]\n    tenants: [contoso]"),
            Path = "issuers.corp.tenants[0]", Line = 7, Column = 15, Message = "'contoso' is not a tenant id: Entra tenant ids are GUIDs in lower case (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), or '*' for any tenant",
        },
        new("Tenants_StarAndIds")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://login.microsoftonline.com/{tenantid}/v2.0\n    jwks_file: jwks.json\n    audiences: [orders]\n    tenants: ['*', 72f988bf-86f1-41af-91ab-2d7cd011db47]"),
            Path = "issuers.corp.tenants", Line = 7, Column = 14, Message = "'*' accepts every tenant; list tenant ids or '*', not both",
        },
        new("TemplatedIssuer_PlaceholderInsideASegment")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://login.example.com/t{tenantid}/v2.0\n    jwks_file: jwks.json\n    audiences: [orders]\n    tenants: ['*']"),
            Path = "issuers.corp.issuer", Line = 4, Column = 13, Message = "{tenantid} must be a whole path segment, e.g. https://login.microsoftonline.com/{tenantid}/v2.0",
        },
        new("TemplatedIssuer_DiscoveryWithoutDiscoveryUri")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://login.microsoftonline.com/{tenantid}/v2.0\n    discovery: true\n    audiences: [orders]\n    tenants: ['*']"),
            Path = "issuers.corp.issuer", Line = 4, Column = 13, Message = "discovery of a templated issuer needs discovery_uri, e.g. https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
        },
        new("IncludeErrorDetails_OnAnExtAuthzListener")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: authz, mode: ext_authz_http, address: 127.0.0.1:9191, include_error_details: true }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].include_error_details", Line = 8, Column = 90, Message = "on an ext_authz listener, set ext_authz.include_error_details instead",
        },
        new("ExtAuthz_StatusOnUnavailable_5xx")
        {
            // Envoy's HTTP ext_authz client treats any 5xx as an error (failure_mode_allow would allow): refused.
            Yaml = Valid(rest: "listeners:\n  - { name: authz, mode: ext_authz_http, address: 127.0.0.1:9191, ext_authz: { status_on_unavailable: 503 } }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].ext_authz.status_on_unavailable", Line = 8, Column = 103, Message = "must be between 400 and 499, got 503",
        },
        new("ExtAuthz_StatusOnUnavailable_OnAGrpcListener")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: authz, mode: ext_authz_grpc, address: 127.0.0.1:9191, ext_authz: { status_on_unavailable: 403 } }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].ext_authz.status_on_unavailable", Line = 8, Column = 103, Message = "applies to ext_authz_http listeners only",
        },
        new("ExtAuthz_Reflection_OnAnHttpListener")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: authz, mode: ext_authz_http, address: 127.0.0.1:9191, ext_authz: { reflection: true } }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].ext_authz.reflection", Line = 8, Column = 92, Message = "applies to ext_authz_grpc listeners only",
        },
        new("IncludeErrorDetails_OnTheAdminListener")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: admin, mode: admin, address: 127.0.0.1:9901, include_error_details: true }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].include_error_details", Line = 8, Column = 81, Message = "include_error_details applies to gateway and sidecar listeners; the admin listener writes no denials",
        },
        new("HeadersWithUnderscores_UnknownAction")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: edge, mode: gateway, address: 127.0.0.1:8080, headers_with_underscores: keep }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].headers_with_underscores", Line = 8, Column = 85, Message = "unknown headers_with_underscores action 'keep'; expected one of: drop, reject, allow",
        },
        new("StripUntrustedHeaders_OnAnExtAuthzListener")
        {
            Yaml = Valid(rest: "listeners:\n  - { name: authz, mode: ext_authz_grpc, address: 127.0.0.1:9191, strip_untrusted_headers: false }\nroutes:\n  - name: orders\n    upstream: http://127.0.0.1:5001"),
            Path = "listeners[0].strip_untrusted_headers", Line = 8, Column = 92, Message = "strip_untrusted_headers applies to gateway and sidecar listeners; behind Envoy, use its headers_with_underscores_action and request_headers_to_remove",
        },
        new("Introspection_MaxResponseBytesTooSmall")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    introspection: { endpoint: https://idp.example.com/introspect, client_id: gh, max_response_bytes: 100 }"),
            Path = "issuers.corp.introspection.max_response_bytes", Line = 7, Column = 103, Message = "must be between 1024 and 16777216 bytes, got 100",
        },
        new("Introspection_CacheMaxEntriesZero")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    introspection: { endpoint: https://idp.example.com/introspect, client_id: gh, cache_max_entries: 0 }"),
            Path = "issuers.corp.introspection.cache_max_entries", Line = 7, Column = 102, Message = "must be between 1 and 1000000, got 0",
        },
        new("Introspection_TimeoutBelowPipelineMinimum")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    introspection: { endpoint: https://idp.example.com/introspect, client_id: gh, timeout: 5ms }"),
            Path = "issuers.corp.introspection.timeout", Line = 7, Column = 92, Message = "must be between 10ms and 1d, got 5ms",
        },
        new("Keys_FetchTimeoutAbovePipelineMaximum")
        {
            Yaml = Valid("issuers:\n  corp:\n    issuer: https://idp.example.com/\n    jwks_file: jwks.json\n    audiences: [orders]\n    keys: { fetch_timeout: 2d }"),
            Path = "issuers.corp.keys.fetch_timeout", Line = 7, Column = 28, Message = "must be between 10ms and 1d, got 2d",
        },
        new("Limits_VerifiedTokenCacheBelowMinimum")
        {
            Yaml = Valid(extra: "limits:\n  max_verified_token_cache_entries: 8\n"),
            Path = "limits.max_verified_token_cache_entries", Line = 13, Column = 37, Message = "must be between 16 and 1000000, got 8",
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LoadYaml_ReportsError_AtNode(ErrorCase testCase)
    {
        var result = ConfigLoader.LoadYaml(testCase.Yaml, "test.yaml", _files.Directory, s_noEnvironment);

        Assert.False(result.IsValid);
        Assert.True(result.Errors.Count == testCase.Count, string.Join(Environment.NewLine, result.Errors));
        var error = Assert.Single(result.Errors, e => e.Path == testCase.Path);
        Assert.Equal(testCase.Path, error.Path);
        Assert.Contains(testCase.Message, error.Message, StringComparison.Ordinal);
        Assert.Equal((testCase.Line, testCase.Column), (error.Line, error.Column));
        Assert.StartsWith($"test.yaml:{testCase.Line}:{testCase.Column}: {testCase.Path}: ", error.ToString(), StringComparison.Ordinal);
    }
}
