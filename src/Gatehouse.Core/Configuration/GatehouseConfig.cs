namespace Gatehouse.Configuration;

/// <summary>
/// The user's configuration as written in YAML (<c>version: 1</c>), after binding and before compilation.
/// Immutable; a reload produces a new instance. Field names map to snake_case YAML keys
/// (documented field by field in docs/configuration.md and <c>schema/gatehouse.schema.json</c>).
/// </summary>
public sealed record GatehouseConfig
{
    public int Version { get; init; } = 1;
    public IReadOnlyDictionary<string, IssuerConfig> Issuers { get; init; } = new Dictionary<string, IssuerConfig>();
    public IReadOnlyList<ListenerConfig> Listeners { get; init; } = [];
    public IReadOnlyList<RouteConfig> Routes { get; init; } = [];
    public IReadOnlyDictionary<string, PolicyConfig> Policies { get; init; } = new Dictionary<string, PolicyConfig>();
    public AuditConfig Audit { get; init; } = new();
    public LimitsConfig Limits { get; init; } = new();
    public PathNormalizationConfig Paths { get; init; } = new();
    public TelemetryConfig Telemetry { get; init; } = new();
    public DecisionCacheConfig DecisionCache { get; init; } = new();
    /// <summary>Where the state replicas share lives (<c>state:</c>): the DPoP replay cache and shared caches.</summary>
    public StateConfig State { get; init; } = new();
    public AdminConfig Admin { get; init; } = new();
    /// <summary>Transaction Tokens (<c>txn_tokens:</c>); null when the section is absent.</summary>
    public TxnTokensConfig? TxnTokens { get; init; }

    /// <summary>The absolute path of the file this config was read from, when it came from a file.</summary>
    public string? SourcePath { get; init; }
}

/// <summary>A trusted token issuer (<c>issuers.NAME</c>).</summary>
public sealed record IssuerConfig
{
    /// <summary>The map key under <c>issuers:</c>; routes refer to issuers by it.</summary>
    public string Name { get; init; } = "";
    /// <summary>
    /// Exact value of the <c>iss</c> claim (RFC 7519 §4.1.1); compared ordinally. Required. May hold one
    /// <c>{tenantid}</c> path segment (Entra ID multi-tenant issuers), which then needs <see cref="Tenants"/>.
    /// </summary>
    public string Issuer { get; init; } = "";
    /// <summary>
    /// For an issuer with <c>{tenantid}</c>: the tenant ids whose tokens are accepted, or <c>*</c> for any tenant.
    /// The token's <c>tid</c> claim must name the tenant of its <c>iss</c>.
    /// </summary>
    public IReadOnlyList<string> Tenants { get; init; } = [];
    /// <summary>Fetch <c>{issuer}/.well-known/openid-configuration</c> and take <c>jwks_uri</c> from it.</summary>
    public bool Discovery { get; init; }
    public string? DiscoveryUri { get; init; }
    public string? JwksUri { get; init; }
    public string? JwksFile { get; init; }
    /// <summary>Accepted <c>aud</c> values, any-of. Required and non-empty.</summary>
    public IReadOnlyList<string> Audiences { get; init; } = [];
    /// <summary>Algorithm allow-list. Defaults to RS256, ES256 (asymmetric only).</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = ["RS256", "ES256"];
    /// <summary>Allowed clock skew for <c>exp</c>, <c>nbf</c>, <c>iat</c>. Default 30 s.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>When set, the JOSE <c>typ</c> header must equal it (RFC 9068 §2.1: <c>at+jwt</c>).</summary>
    public string? RequireType { get; init; }
    public IntrospectionConfig? Introspection { get; init; }
    /// <summary>Where scopes and roles live: generic|okta|auth0|keycloak|entra|cognito.</summary>
    public string Profile { get; init; } = "generic";
    /// <summary>Keycloak client id whose <c>resource_access.&lt;client&gt;.roles</c> are read as roles.</summary>
    public string? ProfileClient { get; init; }
    /// <summary>File holding an HMAC secret; the only way HS256/384/512 can ever be accepted.</summary>
    public string? HmacSecretFile { get; init; }
    public KeyRefreshConfig Keys { get; init; } = new();
    public IReadOnlyList<RoleMappingConfig> RoleMappings { get; init; } = [];
    /// <summary>Require RFC 8705 certificate-bound tokens (<c>cnf.x5t#S256</c>) from this issuer.</summary>
    public bool RequireBoundTokens { get; init; }
    /// <summary>Maximum accepted token size in bytes. Default 16 KiB.</summary>
    public int MaxTokenBytes { get; init; } = 16 * 1024;
    /// <summary>
    /// Circuit breaker of this issuer's outbound calls: JWKS and discovery fetches, and introspection. Each kind of
    /// call has its own breaker state with these thresholds; the timeouts are <c>keys.fetch_timeout</c> and
    /// <c>introspection.timeout</c>.
    /// </summary>
    public CircuitBreakerConfig CircuitBreaker { get; init; } = new();
    /// <summary>
    /// What this issuer's tokens are: OAuth access tokens read from <c>Authorization</c> (the default), or Transaction
    /// Tokens (draft-ietf-oauth-transaction-tokens-10) read only from the <c>txn-token</c> header (docs/txn-tokens.md).
    /// </summary>
    public IssuerKind Kind { get; init; } = IssuerKind.AccessToken;
    /// <summary>
    /// <see cref="IssuerKind.TxnToken"/> only: the longest accepted <c>iat</c> → <c>exp</c> span, so a long-lived token
    /// minted elsewhere with the right key is refused (Txn-Tokens are short-lived, draft §4.1). Default 5 min.
    /// </summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>The kinds of token an issuer signs (<c>issuers.NAME.kind</c>).</summary>
public enum IssuerKind
{
    /// <summary>OAuth 2.0 access tokens (JWT or opaque), presented in <c>Authorization</c>.</summary>
    AccessToken,
    /// <summary>Transaction Tokens (<c>typ: txntoken+jwt</c>), presented in the <c>txn-token</c> header only.</summary>
    TxnToken,
}

/// <summary>
/// Circuit breaker thresholds (<c>issuers.NAME.circuit_breaker</c>), Polly.Core semantics: the circuit opens when,
/// within <see cref="SamplingDuration"/>, at least <see cref="MinimumThroughput"/> calls were made and the share of
/// failed ones (errors, non-2xx answers, timeouts) reached <see cref="FailureRatio"/>. While open, calls fail at once
/// without reaching the server; after <see cref="BreakDuration"/> one trial call decides whether it closes again.
/// </summary>
public sealed record CircuitBreakerConfig
{
    /// <summary>Share of failed calls that opens the circuit, in (0, 1]. Default 0.5.</summary>
    public double FailureRatio { get; init; } = 0.5;
    /// <summary>Calls within the sampling window before the ratio is considered (2 – 10,000). Default 3.</summary>
    public int MinimumThroughput { get; init; } = 3;
    /// <summary>Window over which the failure ratio is computed (500 ms – 24 h). Default 30 s.</summary>
    public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long the circuit stays open before a trial call (500 ms – 24 h). Default 15 s.</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>JWKS lifecycle knobs (<c>issuers.NAME.keys</c>).</summary>
public sealed record KeyRefreshConfig
{
    /// <summary>Background refresh period (with ±10% jitter). Default 5 min.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Minimum time between two fetches triggered by an unknown <c>kid</c>. Default 30 s.</summary>
    public TimeSpan MinRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long last-good keys keep serving while the JWKS cannot be fetched. Default 24 h.</summary>
    public TimeSpan MaxStale { get; init; } = TimeSpan.FromHours(24);
    /// <summary>Timeout of one fetch (10 ms – 24 h). Default 5 s.</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Largest accepted JWKS or discovery document. Default 512 KiB.</summary>
    public int MaxDocumentBytes { get; init; } = 512 * 1024;
}

/// <summary>RFC 7662 token introspection (<c>issuers.NAME.introspection</c>).</summary>
public sealed record IntrospectionConfig
{
    public string Endpoint { get; init; } = "";
    public string ClientId { get; init; } = "";
    public string? ClientSecretFile { get; init; }
    /// <summary>client_secret_basic (default) or client_secret_post (RFC 6749 §2.3.1).</summary>
    public string AuthMethod { get; init; } = "client_secret_basic";
    /// <summary>Upper bound of a positive cache entry; never past the token's <c>exp</c>. Default 60 s.</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How long an <c>active: false</c> answer is cached. Default 10 s.</summary>
    public TimeSpan NegativeCacheTtl { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Timeout of one introspection call (10 ms – 24 h). Default 5 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Largest accepted introspection response (1 KiB – 16 MiB); a larger one is unavailable (503). Default 64 KiB.</summary>
    public int MaxResponseBytes { get; init; } = 64 * 1024;
    /// <summary>Cached introspection answers kept for this issuer (1 – 1,000,000). Default 50,000.</summary>
    public int CacheMaxEntries { get; init; } = 50_000;
}

/// <summary>Maps a claim value to a Gatehouse role (IAM-style group → role mapping).</summary>
public sealed record RoleMappingConfig
{
    /// <summary>Claim path, e.g. <c>groups</c> or <c>realm_access.roles</c>.</summary>
    public string Claim { get; init; } = "";
    public string Value { get; init; } = "";
    public string Role { get; init; } = "";
}

/// <summary>Listener modes (design.md contract).</summary>
public enum ListenerMode
{
    Gateway,
    Inbound,
    Outbound,
    ExtAuthzGrpc,
    ExtAuthzHttp,
    Admin,
    /// <summary>The Txn-Token Service (draft-ietf-oauth-transaction-tokens-10): RFC 8693 token endpoint, RFC 8414 metadata, JWKS.</summary>
    TxnTokenService,
}

/// <summary>A Kestrel endpoint (<c>listeners[]</c>).</summary>
public sealed record ListenerConfig
{
    public string Name { get; init; } = "";
    public ListenerMode Mode { get; init; }
    /// <summary><c>host:port</c>; port 0 picks a free port.</summary>
    public string Address { get; init; } = "";
    public TlsConfig? Tls { get; init; }
    /// <summary>Only on listeners behind a trusted proxy: accept the peer identity from <c>x-forwarded-client-cert</c>.</summary>
    public bool TrustForwardedClientCert { get; init; }
    /// <summary>Route names served by this listener; empty means every route.</summary>
    public IReadOnlyList<string> Routes { get; init; } = [];
    /// <summary>ext_authz protocol settings (modes ext_authz_grpc / ext_authz_http).</summary>
    public ExtAuthzListenerConfig ExtAuthz { get; init; } = new();
    /// <summary>
    /// Gateway and sidecar modes: put the detail after ':' of reason codes (the denying policy and rule, the
    /// missing scope) in the denial body and <c>x-gatehouse-reason</c>. Default false: the stable code only; audit
    /// records and logs always carry the full reason. ext_authz listeners use <c>ext_authz.include_error_details</c>.
    /// </summary>
    public bool IncludeErrorDetails { get; init; }
    /// <summary>
    /// Gateway and sidecar modes: remove, before deciding and forwarding, request headers an upstream may trust
    /// though any caller can send them — <c>x-envoy-*</c> (Envoy and Istio upstreams believe <c>x-envoy-internal</c>,
    /// <c>x-envoy-original-path</c>… from an internal peer) and the method/URL overrides <c>X-HTTP-Method-Override</c>,
    /// <c>X-HTTP-Method</c>, <c>X-Method-Override</c>, <c>X-Original-URL</c>, <c>X-Rewrite-URL</c> (frameworks that
    /// honour them run another method or path than the one the policy authorized). Default true.
    /// </summary>
    public bool StripUntrustedHeaders { get; init; } = true;
    /// <summary>
    /// Gateway and sidecar modes: what to do with a request header whose name contains <c>_</c> (CGI, WSGI and PHP
    /// merge <c>x_user_id</c> into <c>HTTP_X_USER_ID</c>, the same variable as its dashed twin). Default
    /// <see cref="UnderscoreHeaderAction.Drop"/>, as nginx (<c>underscores_in_headers off</c>) and Envoy
    /// (<c>headers_with_underscores_action</c>) do.
    /// </summary>
    public UnderscoreHeaderAction HeadersWithUnderscores { get; init; } = UnderscoreHeaderAction.Drop;
    /// <summary>
    /// DPoP proof settings of this listener (<c>listeners[].dpop</c>, RFC 9449); null means the defaults. DPoP-bound
    /// tokens are verified on every listener whatever this says. Applied on reload.
    /// </summary>
    public DpopConfig? Dpop { get; init; }
}

/// <summary>DPoP proof checking on a listener (<c>listeners[].dpop</c>, RFC 9449).</summary>
public sealed record DpopConfig
{
    /// <summary>Accepted proof algorithms (asymmetric only). Default ES256, PS256, RS256, EdDSA.</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = DpopAlgorithms.Default;
    /// <summary>How old a proof's <c>iat</c> may be (RFC 9449 §4.3 step 11). Default 60 s.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How far in the future a proof's <c>iat</c> may be (client clock ahead). Default 5 s.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Require a server-provided nonce in every proof (RFC 9449 §8). Default false.</summary>
    public bool Nonce { get; init; }
    /// <summary>How often the nonce changes; the previous one stays accepted for one more period. Default 5 min.</summary>
    public TimeSpan NonceRotation { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>
    /// Client-facing origins (<c>https://api.example.com</c>) a proof's <c>htu</c> may name besides the URL this
    /// listener received, for a listener behind a TLS terminator or a proxy that rewrites the host. Default none.
    /// </summary>
    public IReadOnlyList<string> Origins { get; init; } = [];
}

/// <summary><c>listeners[].headers_with_underscores</c>.</summary>
public enum UnderscoreHeaderAction
{
    /// <summary>Remove the header before deciding and forwarding (the default).</summary>
    Drop,
    /// <summary>Refuse the request: 400 <c>request.header_with_underscore</c>.</summary>
    Reject,
    /// <summary>Keep the header (only where the upstream cannot confuse it with its dashed twin).</summary>
    Allow,
}

/// <summary>ext_authz listener settings (<c>listeners[].ext_authz</c>).</summary>
public sealed record ExtAuthzListenerConfig
{
    /// <summary>HTTP mode: Envoy's <c>http_service.path_prefix</c>, removed before deciding. Default none.</summary>
    public string PathPrefix { get; init; } = "";
    /// <summary>gRPC mode: largest accepted CheckRequest. Default 4 MiB (the gRPC default).</summary>
    public int MaxReceiveMessageBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>Put the detail after ':' of reason codes in denial bodies. Default false.</summary>
    public bool IncludeErrorDetails { get; init; }
    /// <summary>
    /// HTTP mode: the status that answers a decision Gatehouse cannot make (keys or introspection unavailable, internal
    /// error, overload; the engine's 503). Envoy's HTTP client treats every 5xx as an error, which
    /// <c>failure_mode_allow: true</c> turns into an allow, so it is a 4xx (400–499). Default 403.
    /// </summary>
    public int StatusOnUnavailable { get; init; } = 403;
    /// <summary>gRPC mode: also serve gRPC server reflection (grpc.reflection.v1/v1alpha) on this listener. Default false.</summary>
    public bool Reflection { get; init; }
}

/// <summary>Client-certificate requirement of a TLS listener.</summary>
public enum ClientCertificateRequirement
{
    None,
    Optional,
    Require,
}

/// <summary>TLS and mTLS settings of a listener.</summary>
public sealed record TlsConfig
{
    public string Certificate { get; init; } = "";
    public string Key { get; init; } = "";
    /// <summary>A single CA bundle for client certificates (any trust domain).</summary>
    public string? ClientCa { get; init; }
    public ClientCertificateRequirement ClientCertificate { get; init; } = ClientCertificateRequirement.None;
    /// <summary>SPIFFE trust domain → PEM bundle file (<c>tls.trust_bundles.TD: FILE</c>).</summary>
    public IReadOnlyDictionary<string, string> TrustBundles { get; init; } = new Dictionary<string, string>();
    /// <summary>
    /// SPIFFE trust domain → federation bundle endpoint (<c>tls.trust_bundles.TD: { endpoint: URL, … }</c>). A trust
    /// domain is in <see cref="TrustBundles"/> or here, never both.
    /// </summary>
    public IReadOnlyDictionary<string, TrustBundleEndpointConfig> TrustBundleEndpoints { get; init; } = new Dictionary<string, TrustBundleEndpointConfig>();
}

/// <summary>
/// A SPIFFE federation bundle endpoint (SPIFFE Trust Domain and Bundle §5, <c>https_web</c> profile): a JWKS whose
/// <c>use: x509-svid</c> keys carry the trust domain's X.509 authorities, fetched and refreshed in the background.
/// </summary>
public sealed record TrustBundleEndpointConfig
{
    /// <summary>The bundle endpoint URL; https (plain http only to loopback, for development). Required.</summary>
    public string Endpoint { get; init; } = "";
    /// <summary>Background refresh period (±10% jitter); a lower <c>spiffe_refresh_hint</c> from the endpoint wins, down to 30 s. Default 5 min.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>How long the last good bundle keeps serving while the endpoint cannot be fetched; past it the trust domain's peers are refused. Default 24 h.</summary>
    public TimeSpan MaxStale { get; init; } = TimeSpan.FromHours(24);
    /// <summary>Timeout of one fetch. Default 5 s.</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// PEM CA bundle that authenticates the endpoint's TLS server certificate instead of the system's Web PKI roots
    /// (a private PKI in front of the endpoint). Default unset: system roots.
    /// </summary>
    public string? EndpointCa { get; init; }
}

/// <summary>A route (<c>routes[]</c>): what it matches, where it goes, how it authenticates and authorizes.</summary>
public sealed record RouteConfig
{
    public string Name { get; init; } = "";
    public RouteMatchConfig Match { get; init; } = new();
    /// <summary>Absolute http(s) URL of the upstream. Required for gateway/inbound/outbound routes.</summary>
    public string? Upstream { get; init; }
    public AuthenticationConfig Authentication { get; init; } = new();
    public IReadOnlyList<string> Policies { get; init; } = [];
    /// <summary>Upstream header name → claim path; the header is stripped from the inbound request first.</summary>
    public IReadOnlyDictionary<string, string> ClaimHeaders { get; init; } = new Dictionary<string, string>();
    /// <summary>Upstream request timeout. Default 30 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
    public OutboundConfig? Outbound { get; init; }
}

/// <summary>Route match: hosts (exact or <c>*.suffix</c>) and a path prefix.</summary>
public sealed record RouteMatchConfig
{
    public IReadOnlyList<string> Hosts { get; init; } = [];
    public string PathPrefix { get; init; } = "/";
}

/// <summary>Route authentication (<c>routes[].authentication</c>).</summary>
public sealed record AuthenticationConfig
{
    public IReadOnlyList<string> Issuers { get; init; } = [];
    public bool RequireToken { get; init; } = true;
    /// <summary>Keep the Authorization header on the upstream request. Default false (stripped).</summary>
    public bool ForwardAuthorization { get; init; }
    /// <summary>Scopes every request on the route needs (all-of); failing → 403 insufficient_scope.</summary>
    public IReadOnlyList<string> RequiredScopes { get; init; } = [];
    public bool RequireBoundTokens { get; init; }
    /// <summary>
    /// Accept only DPoP-bound tokens (<c>cnf.jkt</c>) presented with the <c>DPoP</c> scheme and a valid proof
    /// (RFC 9449 §7.1). Default false: DPoP-bound tokens are still always checked, plain bearer tokens also pass.
    /// </summary>
    public bool RequireDpop { get; init; }

    /// <summary>
    /// Longest delegation chain accepted (RFC 8693 §4.1 nested <c>act</c>, 0 – 16): 0 refuses every delegated token,
    /// 1 accepts one actor. Deeper → 403 <c>token.delegation_too_deep</c>. Default null: the parse bound, 16.
    /// </summary>
    public int? MaxDelegationDepth { get; init; }
}

/// <summary>Sidecar-outbound settings: originate mTLS and check the peer's identity.</summary>
public sealed record OutboundConfig
{
    public string? ClientCertificate { get; init; }
    public string? ClientKey { get; init; }
    public string? TrustBundle { get; init; }
    /// <summary>The SPIFFE ID the upstream must present.</summary>
    public string? ExpectedPeer { get; init; }
    /// <summary>What token the upstream request carries (<c>outbound.token</c>); null keeps the route's
    /// <c>authentication.forward_authorization</c> behaviour (strip by default).</summary>
    public OutboundTokenConfig? Token { get; init; }
    /// <summary>The Txn-Token the upstream request carries (<c>outbound.txn_token</c>); null passes the app's on unchanged.</summary>
    public OutboundTxnTokenConfig? TxnToken { get; init; }
}

/// <summary>
/// <c>routes[].outbound.txn_token</c>: a replacement Txn-Token (draft-ietf-oauth-transaction-tokens-10 §7.4) with narrower
/// scope, requested from the Txn-Token Service (RFC 8693, mTLS with the route's client certificate).
/// </summary>
public sealed record OutboundTxnTokenConfig
{
    /// <summary>Pass the app's <c>txn-token</c> header on; false removes it (an upstream outside the trust domain). Default true.</summary>
    public bool Forward { get; init; } = true;
    /// <summary>Request a replacement; false passes the app's <c>txn-token</c> header on unchanged. Default false.</summary>
    public bool Replace { get; init; }
    /// <summary>The scopes the replacement asks for. Required with <see cref="Replace"/>.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];
    /// <summary>The trust domain sent as <c>audience</c>; default the first audience of <see cref="Issuer"/>.</summary>
    public string? Audience { get; init; }
    /// <summary>A <c>kind: txn_token</c> issuer whose RFC 8414 metadata names the token endpoint.</summary>
    public string? Issuer { get; init; }
    /// <summary>The service's token endpoint; overrides the issuer's metadata.</summary>
    public string? TokenEndpoint { get; init; }
    /// <summary>PEM CA bundle the service's TLS certificate must chain to.</summary>
    public string? TokenEndpointCa { get; init; }
    /// <summary>Timeout of one request (10 ms – 24 h). Default 5 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>The token an outbound route attaches (<c>routes[].outbound.token.mode</c>).</summary>
public enum OutboundTokenMode
{
    /// <summary>The app's <c>Authorization</c> is stripped and nothing is attached.</summary>
    None,
    /// <summary>The app's <c>Authorization</c> goes on unchanged (same-audience hops).</summary>
    Forward,
    /// <summary>The workload's own token (RFC 6749 §4.4), cached and refreshed ahead of expiry.</summary>
    ClientCredentials,
    /// <summary>The app's token exchanged for one narrowed to the hop (RFC 8693 §2).</summary>
    Exchange,
}

/// <summary>How the workload authenticates to the token endpoint (<c>outbound.token.client_auth</c>).</summary>
public enum OutboundClientAuth
{
    /// <summary>RFC 6749 §2.3.1, HTTP Basic.</summary>
    ClientSecretBasic,
    /// <summary>RFC 6749 §2.3.1, in the form body.</summary>
    ClientSecretPost,
    /// <summary>RFC 7523 §2.2 JWT client assertion signed with <c>client_key_file</c>.</summary>
    PrivateKeyJwt,
    /// <summary>RFC 8705 §2.1 mutual TLS with the route's client certificate.</summary>
    TlsClientAuth,
}

/// <summary>Whose token goes as <c>actor_token</c> in an exchange (<c>outbound.token.actor</c>).</summary>
public enum OutboundActor
{
    None,
    /// <summary>The workload's own client-credentials token (RFC 8693 §2.1 <c>actor_token</c>).</summary>
    ClientCredentials,
}

/// <summary>Outbound token settings (<c>routes[].outbound.token</c>).</summary>
public sealed record OutboundTokenConfig
{
    public OutboundTokenMode Mode { get; init; } = OutboundTokenMode.None;
    /// <summary>Name of an entry under <c>issuers:</c> whose token endpoint (from discovery) is used.</summary>
    public string? Issuer { get; init; }
    /// <summary>The token endpoint URL; overrides discovery.</summary>
    public string? TokenEndpoint { get; init; }
    public string? ClientId { get; init; }
    public OutboundClientAuth ClientAuth { get; init; } = OutboundClientAuth.ClientSecretBasic;
    public string? ClientSecretFile { get; init; }
    /// <summary>PEM private key (RSA or EC) signing the RFC 7523 client assertion.</summary>
    public string? ClientKeyFile { get; init; }
    /// <summary>The <c>kid</c> header of the client assertion.</summary>
    public string? ClientKeyId { get; init; }
    /// <summary>The client assertion's <c>aud</c>. Defaults to the token endpoint URL.</summary>
    public string? ClientAssertionAudience { get; init; }
    public IReadOnlyList<string> Scopes { get; init; } = [];
    /// <summary>RFC 8693 §2.1 <c>audience</c>; also sent on client_credentials (Auth0 needs it).</summary>
    public string? Audience { get; init; }
    /// <summary>RFC 8707 resource indicator.</summary>
    public string? Resource { get; init; }
    public OutboundActor Actor { get; init; } = OutboundActor.None;
    /// <summary>A cached token is replaced this long before its <c>exp</c>. Default 30 s.</summary>
    public TimeSpan RefreshBefore { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Timeout of one token-endpoint call. Default 5 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Exchanged tokens kept for the route (1 – 1,000,000). Default 10,000.</summary>
    public int CacheMaxEntries { get; init; } = 10_000;
    /// <summary>PEM CA bundle the token endpoint's TLS certificate must chain to; default the system trust store.</summary>
    public string? TokenEndpointCa { get; init; }
    public CircuitBreakerConfig CircuitBreaker { get; init; } = new();
}

/// <summary>Policy action (Istio AuthorizationPolicy semantics).</summary>
public enum PolicyAction
{
    Allow,
    Deny,
    Audit,
    Custom,
}

/// <summary>A named policy (<c>policies.NAME</c>).</summary>
public sealed record PolicyConfig
{
    public string Name { get; init; } = "";
    public PolicyAction Action { get; init; } = PolicyAction.Allow;
    /// <summary>Evaluated and recorded, never changes the outcome.</summary>
    public bool DryRun { get; init; }
    /// <summary>Applies to every route, not just routes that list it.</summary>
    public bool Global { get; init; }
    /// <summary>Rules are OR-ed; a policy with no rules matches nothing (Istio: allow-nothing / deny-nothing).</summary>
    public IReadOnlyList<PolicyRuleConfig> Rules { get; init; } = [];
}

/// <summary>One rule: every present condition must hold (AND); values inside one condition are any-of.</summary>
public sealed record PolicyRuleConfig
{
    public FromConfig? From { get; init; }
    public ToConfig? To { get; init; }
    /// <summary>Key (<c>scopes</c>, <c>roles</c>, <c>claims.a.b</c>, <c>not_…</c>) → accepted values.</summary>
    public IReadOnlyList<WhenConditionConfig> When { get; init; } = [];
}

/// <summary>Source conditions of a rule.</summary>
public sealed record FromConfig
{
    public IReadOnlyList<string> Principals { get; init; } = [];
    public IReadOnlyList<string> NotPrincipals { get; init; } = [];
    public IReadOnlyList<string> Namespaces { get; init; } = [];
    public IReadOnlyList<string> NotNamespaces { get; init; } = [];
    public IReadOnlyList<string> IpBlocks { get; init; } = [];
    public IReadOnlyList<string> NotIpBlocks { get; init; } = [];
    public IReadOnlyList<string> RequestPrincipals { get; init; } = [];
    public IReadOnlyList<string> NotRequestPrincipals { get; init; } = [];
}

/// <summary>Operation conditions of a rule.</summary>
public sealed record ToConfig
{
    public IReadOnlyList<string> Hosts { get; init; } = [];
    public IReadOnlyList<string> NotHosts { get; init; } = [];
    public IReadOnlyList<string> Ports { get; init; } = [];
    public IReadOnlyList<string> NotPorts { get; init; } = [];
    public IReadOnlyList<string> Methods { get; init; } = [];
    public IReadOnlyList<string> NotMethods { get; init; } = [];
    public IReadOnlyList<string> Paths { get; init; } = [];
    public IReadOnlyList<string> NotPaths { get; init; } = [];
}

/// <summary>A <c>when</c> condition: <c>Key</c> is <c>scopes</c>, <c>roles</c> or <c>claims.PATH</c>.</summary>
public sealed record WhenConditionConfig
{
    public string Key { get; init; } = "";
    public bool Negated { get; init; }
    public IReadOnlyList<string> Values { get; init; } = [];
}

/// <summary>Audit output (<c>audit:</c>).</summary>
public sealed record AuditConfig
{
    /// <summary>JSON Lines file; omitted → no file sink.</summary>
    public string? Path { get; init; }
    public bool Stdout { get; init; }
    /// <summary>Rotate the file when it reaches this size. Default 100 MiB.</summary>
    public long MaxFileBytes { get; init; } = 100L * 1024 * 1024;
    /// <summary>Rotated files kept. Default 5.</summary>
    public int MaxFiles { get; init; } = 5;
    /// <summary>Bounded channel capacity; beyond it records are dropped and counted. Default 10,000.</summary>
    public int QueueCapacity { get; init; } = 10_000;
    public bool IncludeQuery { get; init; }
}

/// <summary>
/// Process-wide limits (<c>limits:</c>): request limits enforced by listeners, and bounds of process-wide caches.
/// </summary>
/// <remarks>
/// Only <see cref="MaxConcurrentRequests"/> is applied on reload; the others are fixed when the process starts
/// (Kestrel limits, the verified-token cache) and a reload that changes them logs that a restart is needed
/// (<see cref="RestartRequiredSettings"/>).
/// </remarks>
public sealed record LimitsConfig
{
    /// <summary>Total size of request headers. Default 32 KiB. Applied on restart.</summary>
    public int MaxRequestHeadersTotalBytes { get; init; } = 32 * 1024;
    /// <summary>Number of request headers. Default 100. Applied on restart.</summary>
    public int MaxRequestHeaderCount { get; init; } = 100;
    /// <summary>Request body size. Default 10 MiB. Applied on restart.</summary>
    public long MaxRequestBodyBytes { get; init; } = 10L * 1024 * 1024;
    /// <summary>Concurrent requests per process before shedding with 503. 0 = unlimited. Applied on reload.</summary>
    public int MaxConcurrentRequests { get; init; }
    /// <summary>
    /// Tokens kept in the verified-token cache of the process (16 – 1,000,000). Default 10,000. Applied on restart.
    /// </summary>
    public int MaxVerifiedTokenCacheEntries { get; init; } = 10_000;
}

/// <summary>Path normalization options (<c>paths:</c>); the same normalized path is matched and forwarded.</summary>
public sealed record PathNormalizationConfig
{
    public bool MergeSlashes { get; init; } = true;
    /// <summary>Lower-case the path before matching and forwarding. Default false (case-sensitive).</summary>
    public bool LowercasePaths { get; init; }
    /// <summary>Reject encoded <c>/</c> and <c>\</c> (%2F, %5C) with 400. Default true.</summary>
    public bool RejectEncodedSlash { get; init; } = true;
    /// <summary>
    /// Accept <c>;</c> path parameters. Default false: a <c>;</c> is refused with 400, because servlet containers
    /// (Tomcat, Jetty, Spring) strip <c>;params</c> before routing, so <c>/admin;x/y</c> would reach <c>/admin/y</c>
    /// past a DENY on <c>/admin/*</c>.
    /// </summary>
    public bool AllowPathParameters { get; init; }
}

/// <summary>Telemetry (<c>telemetry:</c>).</summary>
public sealed record TelemetryConfig
{
    /// <summary>OTLP endpoint for traces; omitted → no export.</summary>
    public string? OtlpEndpoint { get; init; }
    public string ServiceName { get; init; } = "gatehouse";
}

/// <summary>State backends (<c>state:</c>).</summary>
public enum StateBackend
{
    /// <summary>In this process only (the default).</summary>
    Memory,
    /// <summary>A Redis server every replica shares.</summary>
    Redis,
}

/// <summary>
/// Where the state replicas must agree on lives (<c>state:</c>): the DPoP replay cache always; with Redis also the
/// introspection result cache and the ext_authz decision cache. Fixed at startup.
/// </summary>
public sealed record StateConfig
{
    /// <summary><c>memory</c> (default) or <c>redis</c>.</summary>
    public StateBackend Backend { get; init; } = StateBackend.Memory;
    /// <summary>Live entries the memory backend holds (1,000 – 10,000,000). Default 100,000.</summary>
    public int MaxEntries { get; init; } = 100_000;
    /// <summary>The Redis server (<c>state.redis</c>), used when <see cref="Backend"/> is Redis.</summary>
    public RedisStateConfig Redis { get; init; } = new();
}

/// <summary>The Redis state backend (<c>state.redis</c>).</summary>
public sealed record RedisStateConfig
{
    /// <summary><c>host:port</c>. Default <c>127.0.0.1:6379</c>.</summary>
    public string Endpoint { get; init; } = "127.0.0.1:6379";
    /// <summary>Prefix of every key Gatehouse writes. Default <c>gh:</c>.</summary>
    public string KeyPrefix { get; init; } = "gh:";
    /// <summary>Connect timeout, also the bound of each command (10 ms – 1 min). Default 1 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>ext_authz decision cache (<c>decision_cache:</c>).</summary>
public sealed record DecisionCacheConfig
{
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(5);
    public int MaxEntries { get; init; } = 100_000;
    /// <summary>
    /// With <c>state.backend: redis</c>, also share decisions between replicas (docs/state.md). Default true. Read at
    /// startup, like <c>state</c>.
    /// </summary>
    public bool Shared { get; init; } = true;
}

/// <summary>The admin listener's console (<c>admin:</c>).</summary>
public sealed record AdminConfig
{
    /// <summary>Serve the read-only console at <c>/ui</c> on admin listeners. Default true.</summary>
    public bool Ui { get; init; } = true;

    /// <summary>
    /// A file holding a shared secret the console asks for (<c>Authorization: Bearer</c>, or once in the page, kept
    /// in an HttpOnly cookie). Optional on loopback; <c>check</c> warns when an admin listener outside loopback has
    /// neither this nor mTLS.
    /// </summary>
    public string? UiTokenFile { get; init; }

    /// <summary>How far back the service graph and the live view look. Default 15 minutes.</summary>
    public TimeSpan UiWindow { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Most decisions the console keeps in memory (the newest). Default 5000.</summary>
    public int UiMaxDecisions { get; init; } = 5000;
}

/// <summary>
/// Transaction Tokens (<c>txn_tokens:</c>, draft-ietf-oauth-transaction-tokens-10): who issues them, for which trust
/// domain, with which keys, and whether gateways mint them inline. docs/txn-tokens.md.
/// </summary>
public sealed record TxnTokensConfig
{
    /// <summary>The <c>iss</c> claim and the RFC 8414 <c>issuer</c>. Required.</summary>
    public string Issuer { get; init; } = "";
    /// <summary>The trust domain: the <c>aud</c> claim and the only audience a request may name (draft: Txn-Token Request). Required.</summary>
    public string Audience { get; init; } = "";
    /// <summary>Lifetime of an issued token. <remarks>Defaults to 60 s.</remarks></summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Every signing key (<c>signing_key</c> becomes a list of one); exactly one is <see cref="TxnSigningKeyConfig.Active"/>.</summary>
    public IReadOnlyList<TxnSigningKeyConfig> SigningKeys { get; init; } = [];
    /// <summary>Gateway listeners mint a Txn-Token for every allowed request. <remarks>Defaults to false.</remarks></summary>
    public bool MintAtGateway { get; init; }
    /// <summary>The header carrying the Txn-Token (draft: "Txn-Token" HTTP Header). <remarks>Defaults to <c>txn-token</c>.</remarks></summary>
    public string Header { get; init; } = "txn-token";
    /// <summary>SPIFFE IDs allowed to call the token endpoint. <remarks>Defaults to none.</remarks></summary>
    public IReadOnlyList<string> AllowedCallers { get; init; } = [];
    /// <summary>Issuer names accepted for <c>subject_token</c>; empty means every issuer.</summary>
    public IReadOnlyList<string> SubjectIssuers { get; init; } = [];
    /// <summary><c>req_wl</c> of gateway-minted tokens; null means the listener certificate's SPIFFE ID.</summary>
    public string? Workload { get; init; }
    /// <summary>Largest <c>request_context</c> / <c>request_details</c>. <remarks>Defaults to 4 KiB.</remarks></summary>
    public int MaxContextBytes { get; init; } = 4 * 1024;
    /// <summary>Cache-Control max-age of the JWKS. <remarks>Defaults to 5 min.</remarks></summary>
    public TimeSpan JwksMaxAge { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>True when the file used the one-key form <c>signing_key</c> (kept so the effective config reads back as written).</summary>
    public bool SingleKeyForm { get; init; }

    /// <summary>The key that signs.</summary>
    public TxnSigningKeyConfig ActiveKey => SigningKeys.FirstOrDefault(k => k.Active) ?? SigningKeys[0];
}

/// <summary>A Txn-Token signing key (<c>txn_tokens.signing_key</c> or an item of <c>txn_tokens.signing_keys</c>).</summary>
public sealed record TxnSigningKeyConfig
{
    /// <summary>Absolute path of the PEM private key. Required.</summary>
    public string File { get; init; } = "";
    /// <summary>The <c>kid</c>. Required.</summary>
    public string KeyId { get; init; } = "";
    /// <summary>JWS algorithm. <remarks>Defaults to ES256.</remarks></summary>
    public string Algorithm { get; init; } = "ES256";
    /// <summary>Signs new tokens (exactly one key does).</summary>
    public bool Active { get; init; }
}
