namespace Gatehouse.Configuration;

/// <summary>What kind of value a config key takes (docs/configuration.md, "Value syntax").</summary>
internal enum ConfigValueKind
{
    String,
    Bool,
    Integer,
    Number,
    Duration,
    Size,
    File,
    Url,
    Enum,
    List,
    Map,
    Object,
}

/// <summary>A section of the config file: the keys of one mapping shape.</summary>
/// <param name="Name">The section's name, the schema's <c>$defs</c> name (<c>root</c> for the top level).</param>
/// <param name="DocPath">Where it sits in a file, as docs/configuration.md writes it (<c>issuers.NAME.keys</c>,
/// <c>listeners[].tls</c>); <c>NAME</c> is a map key, <c>[]</c> a list item.</param>
internal sealed record ConfigSectionDeclaration(string Name, string DocPath);

/// <summary>One config key, declared once (<see cref="ConfigKeyRegistry"/>).</summary>
/// <param name="Section">The section (<see cref="ConfigSectionDeclaration.Name"/>).</param>
/// <param name="Name">The YAML key.</param>
/// <param name="Kind">The kind of value.</param>
/// <param name="Default">The default as docs/configuration.md's table shows it (<c>30s</c>, <c>required</c>, <c>—</c>).</param>
/// <param name="Doc">The one-line description; the JSON Schema's <c>description</c> of the property.</param>
internal sealed record ConfigKeyDeclaration(string Section, string Name, ConfigValueKind Kind, string Default, string Doc)
{
    /// <summary>Smallest accepted value, in config syntax (<c>10ms</c>, <c>1KiB</c>, <c>2</c>); null when unbounded.</summary>
    public string? Min { get; init; }

    /// <summary>Largest accepted value, in config syntax; null when unbounded.</summary>
    public string? Max { get; init; }

    /// <summary>The accepted values of an <see cref="ConfigValueKind.Enum"/> key.</summary>
    public IReadOnlyList<string> Values { get; init; } = [];
}

/// <summary>
/// Every config key, declared once: section, name, kind, default, range and its one-line description. The binder
/// accepts exactly these keys (<see cref="ConfigKeys"/> is derived from this list); tests compare
/// <c>schema/gatehouse.schema.json</c> (keys, kinds, enum values, integer ranges, descriptions), the key tables of
/// docs/configuration.md (keys and defaults), the binder (every key is read, every range is enforced) and the
/// effective-config writer (every key is written) against it, and name the file and line to fix when they differ.
/// How to add a key: docs/architecture.md, "Adding a config key".
/// </summary>
internal static class ConfigKeyRegistry
{
    /// <summary>Every section, in file order.</summary>
    public static readonly IReadOnlyList<ConfigSectionDeclaration> Sections =
    [
        new("root", ""),
        new("issuer", "issuers.NAME"),
        new("keys", "issuers.NAME.keys"),
        new("circuit_breaker", "issuers.NAME.circuit_breaker"),
        new("introspection", "issuers.NAME.introspection"),
        new("role_mapping", "issuers.NAME.role_mappings[]"),
        new("listener", "listeners[]"),
        new("tls", "listeners[].tls"),
        new("trust_bundle_endpoint", "listeners[].tls.trust_bundles.td"),
        new("ext_authz", "listeners[].ext_authz"),
        new("route", "routes[]"),
        new("match", "routes[].match"),
        new("authentication", "routes[].authentication"),
        new("outbound", "routes[].outbound"),
        new("policy", "policies.NAME"),
        new("rule", "policies.NAME.rules[]"),
        new("from", "policies.NAME.rules[].from"),
        new("to", "policies.NAME.rules[].to"),
        new("audit", "audit"),
        new("limits", "limits"),
        new("paths", "paths"),
        new("telemetry", "telemetry"),
        new("decision_cache", "decision_cache"),
    ];

    /// <summary>Every key, grouped by section in file order; within a section in the order the binder lists them.</summary>
    public static readonly IReadOnlyList<ConfigKeyDeclaration> All =
    [
        // (root)
        new("root", "version", ConfigValueKind.Integer, "—",
            "Config format version. Required; must be 1."),
        new("root", "issuers", ConfigValueKind.Map, "—",
            "Trusted token issuers by name."),
        new("root", "listeners", ConfigValueKind.List, "—",
            "Network listeners."),
        new("root", "routes", ConfigValueKind.List, "—",
            "Routes, matched in order."),
        new("root", "policies", ConfigValueKind.Map, "—",
            "Authorization policies by name."),
        new("root", "audit", ConfigValueKind.Object, "—",
            "Audit output."),
        new("root", "limits", ConfigValueKind.Object, "—",
            "Request limits and process-wide cache bounds."),
        new("root", "paths", ConfigValueKind.Object, "—",
            "Path normalization."),
        new("root", "telemetry", ConfigValueKind.Object, "—",
            "Telemetry export."),
        new("root", "decision_cache", ConfigValueKind.Object, "—",
            "ext_authz decision cache."),
        // issuers.NAME
        new("issuer", "issuer", ConfigValueKind.String, "required",
            "Exact value of the 'iss' claim (RFC 7519 §4.1.1), compared ordinally. With discovery: true it must be an https URL (http only for loopback)."),
        new("issuer", "discovery", ConfigValueKind.Bool, "false",
            "Fetch {issuer}/.well-known/openid-configuration and take jwks_uri from it. Default false."),
        new("issuer", "discovery_uri", ConfigValueKind.Url, "—",
            "Explicit URL of the OpenID discovery document; implies discovery. https (http only for loopback)."),
        new("issuer", "jwks_uri", ConfigValueKind.Url, "—",
            "URL of the JWKS (RFC 7517). https (http only for loopback)."),
        new("issuer", "jwks_file", ConfigValueKind.File, "—",
            "Path of a JWKS file, watched for changes."),
        new("issuer", "audiences", ConfigValueKind.List, "required",
            "Accepted 'aud' values, any-of. Required and non-empty: an empty list is an error, never 'any audience'."),
        new("issuer", "algorithms", ConfigValueKind.List, "[RS256, ES256]",
            "Algorithm allow-list. Default [RS256, ES256]. RS/PS/ES 256/384/512; HS256/384/512 only with hmac_secret_file; 'none' is always refused."),
        new("issuer", "clock_skew", ConfigValueKind.Duration, "30s",
            "Allowed clock skew for exp, nbf and iat. Default 30s."),
        new("issuer", "require_type", ConfigValueKind.String, "—",
            "When set, the JOSE 'typ' header must equal it (RFC 9068 §2.1: at+jwt). Default unset."),
        new("issuer", "introspection", ConfigValueKind.Object, "—",
            "RFC 7662 introspection for opaque tokens. Default unset."),
        new("issuer", "profile", ConfigValueKind.Enum, "generic",
            "Where scopes and roles live in this issuer's tokens. Default generic.") { Values = ["generic", "okta", "auth0", "keycloak", "entra", "cognito"] },
        new("issuer", "profile_client", ConfigValueKind.String, "—",
            "Keycloak client id whose resource_access.<client>.roles are read as roles. Default unset."),
        new("issuer", "hmac_secret_file", ConfigValueKind.File, "—",
            "File holding an HMAC secret; the only way HS256/384/512 can be accepted. Default unset."),
        new("issuer", "keys", ConfigValueKind.Object, "see below",
            "JWKS lifecycle knobs."),
        new("issuer", "role_mappings", ConfigValueKind.List, "[]",
            "Claim value → Gatehouse role mappings. Default none."),
        new("issuer", "require_bound_tokens", ConfigValueKind.Bool, "false",
            "Require RFC 8705 certificate-bound tokens (cnf.x5t#S256) from this issuer. Default false."),
        new("issuer", "max_token_bytes", ConfigValueKind.Size, "16KiB",
            "Largest accepted token, in bytes (256 B .. 1 MiB). Default 16KiB.") { Min = "256B", Max = "1MiB" },
        new("issuer", "circuit_breaker", ConfigValueKind.Object, "see below",
            "Circuit breaker of this issuer's outbound calls (JWKS, discovery, introspection; each has its own breaker state). Default: opens at 50% failures over at least 3 calls in 30s, for 15s."),
        new("issuer", "tenants", ConfigValueKind.List, "—",
            "Only for an issuer with a {tenantid} segment (Entra ID multi-tenant, e.g. https://login.microsoftonline.com/{tenantid}/v2.0): the tenant ids whose tokens are accepted, or ['*'] for any tenant. The token's tid claim must name the tenant of its iss."),
        // issuers.NAME.keys
        new("keys", "refresh_interval", ConfigValueKind.Duration, "5m",
            "Background refresh period (±10% jitter). Default 5m."),
        new("keys", "min_refresh_interval", ConfigValueKind.Duration, "30s",
            "Minimum time between two fetches triggered by an unknown kid. Default 30s."),
        new("keys", "max_stale", ConfigValueKind.Duration, "24h",
            "How long last-good keys keep serving while the JWKS cannot be fetched. Default 24h."),
        new("keys", "fetch_timeout", ConfigValueKind.Duration, "5s",
            "Timeout of one fetch (10ms .. 24h). Default 5s.") { Min = "10ms", Max = "24h" },
        new("keys", "max_document_bytes", ConfigValueKind.Size, "512KiB",
            "Largest accepted JWKS or discovery document (1 KiB .. 64 MiB). Default 512KiB.") { Min = "1KiB", Max = "64MiB" },
        // issuers.NAME.circuit_breaker
        new("circuit_breaker", "failure_ratio", ConfigValueKind.Number, "0.5",
            "Share of failed calls (errors, non-200 answers, timeouts) that opens the circuit, in (0, 1]. Default 0.5."),
        new("circuit_breaker", "minimum_throughput", ConfigValueKind.Integer, "3",
            "Calls within sampling_duration before the failure ratio is considered (2 .. 10000). Default 3.") { Min = "2", Max = "10000" },
        new("circuit_breaker", "sampling_duration", ConfigValueKind.Duration, "30s",
            "Window over which the failure ratio is computed (500ms .. 24h). Default 30s.") { Min = "500ms", Max = "24h" },
        new("circuit_breaker", "break_duration", ConfigValueKind.Duration, "15s",
            "How long the circuit stays open before a trial call (500ms .. 24h). Default 15s.") { Min = "500ms", Max = "24h" },
        // issuers.NAME.introspection
        new("introspection", "endpoint", ConfigValueKind.Url, "required",
            "Introspection endpoint URL. Required. https (http only for loopback)."),
        new("introspection", "client_id", ConfigValueKind.String, "required",
            "Client id Gatehouse authenticates with. Required."),
        new("introspection", "client_secret_file", ConfigValueKind.File, "—",
            "File holding the client secret. Default unset."),
        new("introspection", "auth_method", ConfigValueKind.Enum, "client_secret_basic",
            "Client authentication (RFC 6749 §2.3.1). Default client_secret_basic.") { Values = ["client_secret_basic", "client_secret_post"] },
        new("introspection", "cache_ttl", ConfigValueKind.Duration, "60s",
            "Upper bound of a positive cache entry; never past the token's exp. Default 60s."),
        new("introspection", "negative_cache_ttl", ConfigValueKind.Duration, "10s",
            "How long an 'active: false' answer is cached. Default 10s."),
        new("introspection", "timeout", ConfigValueKind.Duration, "5s",
            "Timeout of one introspection call (10ms .. 24h). Default 5s.") { Min = "10ms", Max = "24h" },
        new("introspection", "max_response_bytes", ConfigValueKind.Size, "64KiB",
            "Largest accepted introspection response (1 KiB .. 16 MiB); a larger one is introspection.unavailable (503). Default 64KiB.") { Min = "1KiB", Max = "16MiB" },
        new("introspection", "cache_max_entries", ConfigValueKind.Integer, "50000",
            "Cached introspection answers kept for this issuer (1 .. 1000000); beyond it expired entries, then arbitrary ones, are dropped. Default 50000.") { Min = "1", Max = "1000000" },
        // issuers.NAME.role_mappings[]
        new("role_mapping", "claim", ConfigValueKind.String, "required",
            "Claim path, e.g. groups or realm_access.roles. Required."),
        new("role_mapping", "value", ConfigValueKind.String, "required",
            "Claim value to match. Required."),
        new("role_mapping", "role", ConfigValueKind.String, "required",
            "Role granted when the claim holds the value. Required."),
        // listeners[]
        new("listener", "name", ConfigValueKind.String, "required",
            "Unique listener name. Required."),
        new("listener", "mode", ConfigValueKind.Enum, "required",
            "What the listener does. Required. At most one admin listener.") { Values = ["gateway", "inbound", "outbound", "ext_authz_grpc", "ext_authz_http", "admin"] },
        new("listener", "address", ConfigValueKind.String, "required",
            "host:port to bind (IPv6 in brackets); port 0 picks a free port. Required."),
        new("listener", "tls", ConfigValueKind.Object, "— (plain HTTP)",
            "TLS and mTLS settings. Default unset (plain HTTP)."),
        new("listener", "trust_forwarded_client_cert", ConfigValueKind.Bool, "false",
            "Accept the peer identity from x-forwarded-client-cert; only behind a trusted proxy. Default false."),
        new("listener", "routes", ConfigValueKind.List, "every route",
            "Names of the routes this listener serves. Default: every route."),
        new("listener", "ext_authz", ConfigValueKind.Object, "see below",
            "ext_authz protocol settings (modes ext_authz_grpc and ext_authz_http). Default: no path prefix, 4 MiB messages, no error details."),
        new("listener", "include_error_details", ConfigValueKind.Bool, "false",
            "Gateway and sidecar listeners: put the detail after ':' of reason codes (denying policy and rule, missing scope) in the denial body and x-gatehouse-reason. Default false (the code only; audit and logs always carry the full reason). ext_authz listeners use ext_authz.include_error_details."),
        new("listener", "strip_untrusted_headers", ConfigValueKind.Bool, "true",
            "Gateway and sidecar listeners: remove, before deciding and forwarding, headers an upstream may trust though any caller can send them (x-envoy-*, X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, X-Original-URL, X-Rewrite-URL). Default true."),
        new("listener", "headers_with_underscores", ConfigValueKind.Enum, "drop",
            "Gateway and sidecar listeners: a request header whose name contains '_' is removed (drop), refused with 400 (reject) or kept (allow). Default drop.") { Values = ["drop", "reject", "allow"] },
        // listeners[].tls
        new("tls", "certificate", ConfigValueKind.File, "required",
            "PEM certificate chain file. Required."),
        new("tls", "key", ConfigValueKind.File, "required",
            "PEM private key file. Required."),
        new("tls", "client_ca", ConfigValueKind.File, "—",
            "CA bundle for client certificates (any trust domain). Default unset."),
        new("tls", "client_certificate", ConfigValueKind.Enum, "none",
            "Client certificate requirement. Default none. optional/require need client_ca or trust_bundles.") { Values = ["none", "optional", "require"] },
        new("tls", "trust_bundles", ConfigValueKind.Map, "{}",
            "SPIFFE trust domain → PEM bundle file, or → { endpoint: URL, ... } (a SPIFFE federation bundle endpoint). A peer is verified against the bundle of the trust domain in its SPIFFE ID only. Default none."),
        // listeners[].tls.trust_bundles.TD (a federation bundle endpoint)
        new("trust_bundle_endpoint", "endpoint", ConfigValueKind.Url, "required",
            "Bundle endpoint URL: https (plain http only to loopback, for development). Required."),
        new("trust_bundle_endpoint", "refresh_interval", ConfigValueKind.Duration, "5m",
            "Background refresh period (±10% jitter); a lower spiffe_refresh_hint wins, down to 30s. Default 5m.") { Min = "1s", Max = "30d" },
        new("trust_bundle_endpoint", "max_stale", ConfigValueKind.Duration, "24h",
            "How long the last good bundle serves while the endpoint fails; past it the trust domain's peers are refused and /readyz is 503. At least refresh_interval. Default 24h.") { Min = "1s", Max = "365d" },
        new("trust_bundle_endpoint", "fetch_timeout", ConfigValueKind.Duration, "5s",
            "Timeout of one fetch (10ms - 5m). Default 5s.") { Min = "10ms", Max = "5m" },
        new("trust_bundle_endpoint", "endpoint_ca", ConfigValueKind.File, "system roots",
            "PEM CA bundle that authenticates the endpoint's TLS certificate instead of the system roots. Default unset."),
        // listeners[].ext_authz
        new("ext_authz", "path_prefix", ConfigValueKind.String, "\"\"",
            "HTTP mode: Envoy's http_service.path_prefix, removed before deciding; a request without it gets 404. Default empty."),
        new("ext_authz", "max_receive_message_bytes", ConfigValueKind.Size, "4MiB",
            "gRPC mode: largest accepted CheckRequest (1 KiB .. 64 MiB); larger gets RESOURCE_EXHAUSTED. Default 4MiB.") { Min = "1KiB", Max = "64MiB" },
        new("ext_authz", "include_error_details", ConfigValueKind.Bool, "false",
            "Put the detail after ':' of reason codes (e.g. the missing scope) in denial bodies. Default false."),
        new("ext_authz", "status_on_unavailable", ConfigValueKind.Integer, "403",
            "HTTP mode only: the status (400-499) that answers a decision Gatehouse cannot make; Envoy's HTTP client treats every 5xx as an error, which failure_mode_allow turns into an allow. Default 403.") { Min = "400", Max = "499" },
        new("ext_authz", "reflection", ConfigValueKind.Bool, "false",
            "gRPC mode only: also serve gRPC server reflection on this listener. Default false."),
        // routes[]
        new("route", "name", ConfigValueKind.String, "required",
            "Unique route name. Required."),
        new("route", "match", ConfigValueKind.Object, "?",
            "Which requests the route takes. Default: every host, every path."),
        new("route", "upstream", ConfigValueKind.Url, "required for routes a gateway, inbound or outbound listener serves",
            "Absolute http(s) URL requests are forwarded to. Required unless only ext_authz listeners serve the route."),
        new("route", "authentication", ConfigValueKind.Object, "?",
            "How requests on the route authenticate. Default: a token from any issuer is required."),
        new("route", "policies", ConfigValueKind.List, "[]",
            "Names of the policies that apply to the route (plus every global policy). Default none."),
        new("route", "claim_headers", ConfigValueKind.Map, "{}",
            "Upstream header name → claim path; the header is stripped from the inbound request first. Default none."),
        new("route", "timeout", ConfigValueKind.Duration, "30s",
            "Upstream request timeout. Default 30s."),
        new("route", "outbound", ConfigValueKind.Object, "?",
            "Sidecar-outbound settings: originate mTLS and check the peer. Default unset."),
        // routes[].match
        new("match", "hosts", ConfigValueKind.List, "any host",
            "Host names, exact or *.suffix. Default: any host."),
        new("match", "path_prefix", ConfigValueKind.String, "/",
            "Path prefix, starting with '/'. Default /."),
        // routes[].authentication
        new("authentication", "issuers", ConfigValueKind.List, "every issuer",
            "Names of the issuers accepted on this route. Default: every issuer."),
        new("authentication", "require_token", ConfigValueKind.Bool, "true",
            "Reject requests without a valid token (401). Default true."),
        new("authentication", "forward_authorization", ConfigValueKind.Bool, "false",
            "Keep the Authorization header on the upstream request. Default false (stripped)."),
        new("authentication", "required_scopes", ConfigValueKind.List, "[]",
            "Scopes every request needs (all-of); missing → 403 insufficient_scope. Default none."),
        new("authentication", "require_bound_tokens", ConfigValueKind.Bool, "false",
            "Require certificate-bound tokens on this route. Default false."),
        new("authentication", "max_delegation_depth", ConfigValueKind.Integer, "16",
            "Longest RFC 8693 delegation chain (nested act claims) accepted; 0 refuses every delegated token. Deeper → 403 token.delegation_too_deep. Default 16 (the parse bound).") { Min = "0", Max = "16" },
        // routes[].outbound
        new("outbound", "client_certificate", ConfigValueKind.File, "—",
            "PEM client certificate presented to the upstream. Set together with client_key."),
        new("outbound", "client_key", ConfigValueKind.File, "—",
            "PEM private key of client_certificate."),
        new("outbound", "trust_bundle", ConfigValueKind.File, "—",
            "PEM bundle the upstream's certificate must chain to."),
        new("outbound", "expected_peer", ConfigValueKind.String, "—",
            "SPIFFE ID the upstream must present (spiffe://trust-domain/path)."),
        // policies.NAME
        new("policy", "action", ConfigValueKind.Enum, "allow",
            "Istio AuthorizationPolicy action. Default allow. 'custom' (delegation to an external authorizer) is refused: Gatehouse is the authorizer.") { Values = ["allow", "deny", "audit"] },
        new("policy", "dry_run", ConfigValueKind.Bool, "false",
            "Evaluate and record, never change the outcome. Default false."),
        new("policy", "global", ConfigValueKind.Bool, "false",
            "Apply to every route, not only routes that list it. Default false."),
        new("policy", "rules", ConfigValueKind.List, "[]",
            "Rules, OR-ed. A policy without rules matches nothing; an empty rule matches everything."),
        // policies.NAME.rules[]
        new("rule", "from", ConfigValueKind.Object, "— (any source)",
            "Source conditions."),
        new("rule", "to", ConfigValueKind.Object, "— (any operation)",
            "Operation conditions."),
        new("rule", "when", ConfigValueKind.Object, "— (any token)",
            "Token and request conditions: scopes, roles, claims.<path>, headers.<name>, client_id, subject, issuer and their not_ forms."),
        // policies.NAME.rules[].from
        new("from", "principals", ConfigValueKind.List, "—",
            "Peer SPIFFE IDs (from mTLS)."),
        new("from", "not_principals", ConfigValueKind.List, "—",
            "Peer SPIFFE IDs that must not match."),
        new("from", "namespaces", ConfigValueKind.List, "—",
            "Peer namespaces (from the SPIFFE ID's /ns/ segment)."),
        new("from", "not_namespaces", ConfigValueKind.List, "—",
            "Peer namespaces that must not match."),
        new("from", "ip_blocks", ConfigValueKind.List, "—",
            "Client IP addresses or CIDR blocks."),
        new("from", "not_ip_blocks", ConfigValueKind.List, "—",
            "Client IP addresses or CIDR blocks that must not match."),
        new("from", "request_principals", ConfigValueKind.List, "—",
            "Token principals, written iss/sub."),
        new("from", "not_request_principals", ConfigValueKind.List, "—",
            "Token principals that must not match."),
        // policies.NAME.rules[].to
        new("to", "hosts", ConfigValueKind.List, "—",
            "Request hosts (exact, *.suffix, prefix.*)."),
        new("to", "not_hosts", ConfigValueKind.List, "—",
            "Request hosts that must not match."),
        new("to", "ports", ConfigValueKind.List, "—",
            "Destination ports (1-65535)."),
        new("to", "not_ports", ConfigValueKind.List, "—",
            "Destination ports that must not match."),
        new("to", "methods", ConfigValueKind.List, "—",
            "HTTP methods."),
        new("to", "not_methods", ConfigValueKind.List, "—",
            "HTTP methods that must not match."),
        new("to", "paths", ConfigValueKind.List, "—",
            "Normalized request paths: exact, prefix /a/*, suffix *.ext, or *."),
        new("to", "not_paths", ConfigValueKind.List, "—",
            "Request paths that must not match."),
        // audit
        new("audit", "path", ConfigValueKind.String, "— (no file)",
            "JSON Lines file, relative to the config file. Default unset (no file)."),
        new("audit", "stdout", ConfigValueKind.Bool, "false",
            "Also write records to standard output. Default false."),
        new("audit", "max_file_bytes", ConfigValueKind.Size, "100MiB",
            "Rotate the file at this size. Default 100MiB."),
        new("audit", "max_files", ConfigValueKind.Integer, "5",
            "Rotated files kept. Default 5.") { Min = "1", Max = "10000" },
        new("audit", "queue_capacity", ConfigValueKind.Integer, "10000",
            "Bounded queue size; beyond it records are dropped and counted. Default 10000.") { Min = "1", Max = "10000000" },
        new("audit", "include_query", ConfigValueKind.Bool, "false",
            "Record the query string. Default false."),
        // limits
        new("limits", "max_request_headers_total_bytes", ConfigValueKind.Size, "32KiB",
            "Total size of request headers. Default 32KiB."),
        new("limits", "max_request_header_count", ConfigValueKind.Integer, "100",
            "Number of request headers. Default 100.") { Min = "1", Max = "100000" },
        new("limits", "max_request_body_bytes", ConfigValueKind.Size, "10MiB",
            "Request body size. Default 10MiB."),
        new("limits", "max_concurrent_requests", ConfigValueKind.Integer, "0",
            "Concurrent requests per process before shedding with 503; 0 = unlimited. Default 0.") { Min = "0" },
        new("limits", "max_verified_token_cache_entries", ConfigValueKind.Integer, "10000",
            "Tokens kept in the process's verified-token cache (16 .. 1000000). Takes effect on restart. Default 10000.") { Min = "16", Max = "1000000" },
        // paths
        new("paths", "merge_slashes", ConfigValueKind.Bool, "true",
            "Merge repeated slashes. Default true."),
        new("paths", "lowercase_paths", ConfigValueKind.Bool, "false",
            "Lower-case paths before matching and forwarding. Default false."),
        new("paths", "reject_encoded_slash", ConfigValueKind.Bool, "true",
            "Reject %2F and %5C in paths with 400. Default true."),
        new("paths", "allow_path_parameters", ConfigValueKind.Bool, "false",
            "Accept ';' path parameters. Default false: a ';' is refused with 400 request.path_ambiguous, since servlet containers strip ';params' before routing (/admin;x/y reaches /admin/y)."),
        // telemetry
        new("telemetry", "otlp_endpoint", ConfigValueKind.Url, "—",
            "OTLP endpoint for traces. Default unset (no export)."),
        new("telemetry", "service_name", ConfigValueKind.String, "gatehouse",
            "service.name of exported telemetry. Default gatehouse."),
        // decision_cache
        new("decision_cache", "ttl", ConfigValueKind.Duration, "5s",
            "How long a decision is reused; 0 disables the cache. Default 5s."),
        new("decision_cache", "max_entries", ConfigValueKind.Integer, "100000",
            "Maximum cached decisions. Default 100000.") { Min = "0" },
    ];

    /// <summary>The accepted values of the enum key <paramref name="name"/> of <paramref name="section"/>.</summary>
    public static string[] ValuesOf(string section, string name) =>
        [.. All.Single(k => k.Section == section && k.Name == name && k.Kind == ConfigValueKind.Enum).Values];

    /// <summary>The key names of <paramref name="section"/>, in declaration order.</summary>
    public static string[] NamesOf(string section)
    {
        var names = All.Where(k => k.Section == section).Select(k => k.Name).ToArray();
        return names.Length > 0 ? names : throw new InvalidOperationException("no keys declared for config section " + section);
    }
}
