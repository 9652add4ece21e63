using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

public sealed class ConfigLoaderTests : IDisposable
{
    private static readonly Dictionary<string, string> s_noEnvironment = [];
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private ConfigLoadResult Load(string yaml, IReadOnlyDictionary<string, string>? environment = null) =>
        ConfigLoader.LoadYaml(yaml, "test.yaml", _files.Directory, environment ?? s_noEnvironment);

    private const string Minimal = """
        version: 1
        issuers:
          corp:
            issuer: https://idp.example.com/
            jwks_file: jwks.json
            audiences: [orders]
        listeners:
          - { name: edge, mode: gateway, address: 127.0.0.1:8080 }
        routes:
          - name: orders
            upstream: http://127.0.0.1:5001
        """;

    // Every key the binder knows, each set to a non-default value (ConfigKeyRegistryTests writes it back through the
    // effective-config writer).
    internal const string EveryField = """
        version: 1
        issuers:
          txn:
            kind: txn_token
            issuer: https://txn.example.com
            jwks_file: jwks.json
            audiences: [example.com]
            algorithms: [ES256]
            max_lifetime: 2m
          corp:
            issuer: https://idp.example.com/
            jwks_file: jwks.json
            audiences: [orders, inventory]
            algorithms: [RS384, PS256, ES512, HS256]
            clock_skew: 500ms
            require_type: at+jwt
            introspection:
              endpoint: http://127.0.0.1:9000/introspect
              client_id: gatehouse
              client_secret_file: secret.txt
              auth_method: client_secret_post
              cache_ttl: 2m
              negative_cache_ttl: 3s
              timeout: 4s
              max_response_bytes: 128KiB
              cache_max_entries: 777
            profile: keycloak
            profile_client: orders-api
            hmac_secret_file: hmac.key
            keys:
              refresh_interval: 10m
              min_refresh_interval: 1m
              max_stale: 1d
              fetch_timeout: 7
              max_document_bytes: 1MiB
            role_mappings:
              - { claim: groups, value: admins, role: admin }
            require_bound_tokens: true
            max_token_bytes: 8KiB
            circuit_breaker:
              failure_ratio: 0.25
              minimum_throughput: 10
              sampling_duration: 1m
              break_duration: 500ms
          partner:
            issuer: https://partner.example/
            discovery_uri: https://partner.example/custom/.well-known/openid-configuration
            audiences: [api]
        listeners:
          - name: edge
            mode: gateway
            address: "[::1]:8443"
            tls:
              certificate: cert.pem
              key: key.pem
              client_ca: ca.pem
              client_certificate: require
              trust_bundles: { cluster.local: bundle.pem, td: { endpoint: "https://spire.west.example/bundle", refresh_interval: 1m, max_stale: 1h, fetch_timeout: 2s, endpoint_ca: ca.pem } }
            trust_forwarded_client_cert: true
            routes: [orders]
          - { name: authz, mode: ext_authz_grpc, address: 0.0.0.0:9191, routes: [decide] }
          - { name: authz-http, mode: ext_authz_http, address: localhost:9192, routes: [decide] }
          - { name: in, mode: inbound, address: 127.0.0.1:15006, routes: [orders] }
          - { name: out, mode: outbound, address: 127.0.0.1:15001, routes: [orders] }
          - { name: admin, mode: admin, address: 127.0.0.1:9901 }
        routes:
          - name: orders
            match: { hosts: [api.example.com, "*.example.org"], path_prefix: /orders }
            upstream: https://orders.internal:8443
            authentication:
              issuers: [corp, partner]
              require_token: true
              forward_authorization: true
              required_scopes: [orders.read]
              require_bound_tokens: true
            policies: [p]
            claim_headers: { X-User: sub }
            timeout: 1m
            outbound:
              client_certificate: client.pem
              client_key: client-key.pem
              trust_bundle: bundle.pem
              expected_peer: spiffe://cluster.local/ns/shop/sa/orders
          - name: decide
            authentication: { require_token: false }
          - name: to-payments
            upstream: https://payments.internal:8443
            authentication: { require_token: false }
            outbound:
              token:
                mode: exchange
                token_endpoint: https://idp.example.com/token
                client_id: orders
                client_auth: client_secret_post
                client_secret_file: secret.txt
                client_assertion_audience: https://idp.example.com/
                scopes: [payments.charge]
                audience: payments
                resource: https://payments.example.com/
                actor: client_credentials
                refresh_before: 45s
                timeout: 3s
                cache_max_entries: 500
                token_endpoint_ca: ca.pem
                circuit_breaker: { failure_ratio: 0.6, minimum_throughput: 4, sampling_duration: 20s, break_duration: 10s }
              txn_token:
                forward: true
                replace: false
                scopes: [payments.charge]
                audience: example.com
                issuer: txn
                token_endpoint: https://txn.example.com/token
                token_endpoint_ca: ca.pem
                timeout: 2s
        policies:
          p:
            action: deny
            dry_run: true
            global: true
            rules:
              - from:
                  principals: [a]
                  not_principals: [b]
                  namespaces: [c]
                  not_namespaces: [d]
                  ip_blocks: [10.0.0.0/8]
                  not_ip_blocks: ["::1"]
                  request_principals: [e]
                  not_request_principals: [f]
                to:
                  hosts: [g]
                  not_hosts: [h]
                  ports: [443]
                  not_ports: ["8080"]
                  methods: [GET]
                  not_methods: [DELETE]
                  paths: [/a/*]
                  not_paths: ["*.bak"]
                when:
                  roles: [admin]
                  not_scopes: [readonly]
                  not_claims.tenant.id: [blocked]
        audit:
          path: logs/audit.jsonl
          stdout: true
          max_file_bytes: 1GiB
          max_files: 9
          queue_capacity: 123
          include_query: true
        limits:
          max_request_headers_total_bytes: 64KiB
          max_request_header_count: 50
          max_request_body_bytes: 1048576
          max_concurrent_requests: 1000
          max_verified_token_cache_entries: 2048
        paths:
          merge_slashes: false
          lowercase_paths: true
          reject_encoded_slash: false
        telemetry:
          otlp_endpoint: http://127.0.0.1:4317
          service_name: edge
        decision_cache:
          ttl: 0
          max_entries: 42
        txn_tokens:
          issuer: https://txn.shop.example
          audience: shop.example
          lifetime: 30s
          signing_keys:
            - { file: txn-2.pem, key_id: txn-2, algorithm: ES256, active: true }
            - { file: txn-1.pem, key_id: txn-1, algorithm: ES256 }
          mint_at_gateway: true
          header: x-txn
          allowed_callers: [spiffe://shop.example/ns/shop/sa/orders]
          subject_issuers: [corp]
          workload: spiffe://shop.example/gateway
          max_context_bytes: 8KiB
          jwks_max_age: 1m
        """;

    [Fact]
    public void LoadYaml_EveryField_Binds()
    {
        var result = Load(EveryField);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var config = result.Config!;
        var corp = config.Issuers["corp"];
        Assert.Equal(_files.Path("jwks.json"), corp.JwksFile);
        Assert.Equal(["orders", "inventory"], corp.Audiences);
        Assert.Equal(["RS384", "PS256", "ES512", "HS256"], corp.Algorithms);
        Assert.Equal(TimeSpan.FromMilliseconds(500), corp.ClockSkew);
        Assert.Equal("at+jwt", corp.RequireType);
        var introspection = corp.Introspection!;
        Assert.Equal(("http://127.0.0.1:9000/introspect", "gatehouse", _files.Path("secret.txt"), "client_secret_post"),
            (introspection.Endpoint, introspection.ClientId, introspection.ClientSecretFile, introspection.AuthMethod));
        Assert.Equal((TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4)),
            (introspection.CacheTtl, introspection.NegativeCacheTtl, introspection.Timeout));
        Assert.Equal((128 * 1024, 777), (introspection.MaxResponseBytes, introspection.CacheMaxEntries));
        Assert.Equal(("keycloak", "orders-api", _files.Path("hmac.key")), (corp.Profile, corp.ProfileClient, corp.HmacSecretFile));
        Assert.Equal(new KeyRefreshConfig
        {
            RefreshInterval = TimeSpan.FromMinutes(10),
            MinRefreshInterval = TimeSpan.FromMinutes(1),
            MaxStale = TimeSpan.FromDays(1),
            FetchTimeout = TimeSpan.FromSeconds(7),
            MaxDocumentBytes = 1024 * 1024,
        }, corp.Keys);
        Assert.Equal(new RoleMappingConfig { Claim = "groups", Value = "admins", Role = "admin" }, Assert.Single(corp.RoleMappings));
        Assert.True(corp.RequireBoundTokens);
        Assert.Equal(8 * 1024, corp.MaxTokenBytes);
        Assert.Equal(new CircuitBreakerConfig
        {
            FailureRatio = 0.25,
            MinimumThroughput = 10,
            SamplingDuration = TimeSpan.FromMinutes(1),
            BreakDuration = TimeSpan.FromMilliseconds(500),
        }, corp.CircuitBreaker);
        var partner = config.Issuers["partner"];
        Assert.True(partner.Discovery);
        Assert.Equal("https://partner.example/custom/.well-known/openid-configuration", partner.DiscoveryUri);

        Assert.Equal(6, config.Listeners.Count);
        var edge = config.Listeners[0];
        Assert.Equal(("edge", ListenerMode.Gateway, "[::1]:8443", true), (edge.Name, edge.Mode, edge.Address, edge.TrustForwardedClientCert));
        Assert.Equal(["orders"], edge.Routes);
        var tls = edge.Tls!;
        Assert.Equal((_files.Path("cert.pem"), _files.Path("key.pem"), _files.Path("ca.pem"), ClientCertificateRequirement.Require),
            (tls.Certificate, tls.Key, tls.ClientCa, tls.ClientCertificate));
        Assert.Equal(_files.Path("bundle.pem"), tls.TrustBundles["cluster.local"]);
        Assert.Equal(
            [ListenerMode.Gateway, ListenerMode.ExtAuthzGrpc, ListenerMode.ExtAuthzHttp, ListenerMode.Inbound, ListenerMode.Outbound, ListenerMode.Admin],
            config.Listeners.Select(l => l.Mode));

        var route = config.Routes[0];
        Assert.Equal(["api.example.com", "*.example.org"], route.Match.Hosts);
        Assert.Equal("/orders", route.Match.PathPrefix);
        Assert.Equal("https://orders.internal:8443", route.Upstream);
        Assert.Equal(new AuthenticationConfig
        {
            Issuers = route.Authentication.Issuers,
            RequireToken = true,
            ForwardAuthorization = true,
            RequiredScopes = route.Authentication.RequiredScopes,
            RequireBoundTokens = true,
        }, route.Authentication);
        Assert.Equal(["corp", "partner"], route.Authentication.Issuers);
        Assert.Equal(["orders.read"], route.Authentication.RequiredScopes);
        Assert.Equal(["p"], route.Policies);
        Assert.Equal("sub", route.ClaimHeaders["x-user"]);
        Assert.Equal(TimeSpan.FromMinutes(1), route.Timeout);
        Assert.Equal(new OutboundConfig
        {
            ClientCertificate = _files.Path("client.pem"),
            ClientKey = _files.Path("client-key.pem"),
            TrustBundle = _files.Path("bundle.pem"),
            ExpectedPeer = "spiffe://cluster.local/ns/shop/sa/orders",
        }, route.Outbound);
        Assert.Null(config.Routes[1].Upstream);
        Assert.False(config.Routes[1].Authentication.RequireToken);

        var policy = config.Policies["p"];
        Assert.Equal((PolicyAction.Deny, true, true), (policy.Action, policy.DryRun, policy.Global));
        var rule = Assert.Single(policy.Rules);
        var from = rule.From!;
        Assert.Equal([["a"], ["b"], ["c"], ["d"], ["10.0.0.0/8"], ["::1"], ["e"], ["f"]],
            new[] { from.Principals, from.NotPrincipals, from.Namespaces, from.NotNamespaces, from.IpBlocks, from.NotIpBlocks, from.RequestPrincipals, from.NotRequestPrincipals });
        var to = rule.To!;
        Assert.Equal([["g"], ["h"], ["443"], ["8080"], ["GET"], ["DELETE"], ["/a/*"], ["*.bak"]],
            new[] { to.Hosts, to.NotHosts, to.Ports, to.NotPorts, to.Methods, to.NotMethods, to.Paths, to.NotPaths });
        Assert.Collection(rule.When,
            c => Assert.Equal(("roles", false), (c.Key, c.Negated)),
            c => Assert.Equal(("scopes", true), (c.Key, c.Negated)),
            c => Assert.Equal(("claims.tenant.id", true, "blocked"), (c.Key, c.Negated, Assert.Single(c.Values))));

        Assert.Equal(new AuditConfig
        {
            Path = Path.Combine(_files.Directory, "logs", "audit.jsonl"),
            Stdout = true,
            MaxFileBytes = 1L << 30,
            MaxFiles = 9,
            QueueCapacity = 123,
            IncludeQuery = true,
        }, config.Audit);
        Assert.Equal(new LimitsConfig
        {
            MaxRequestHeadersTotalBytes = 64 * 1024,
            MaxRequestHeaderCount = 50,
            MaxRequestBodyBytes = 1048576,
            MaxConcurrentRequests = 1000,
            MaxVerifiedTokenCacheEntries = 2048,
        }, config.Limits);
        Assert.Equal(new PathNormalizationConfig { MergeSlashes = false, LowercasePaths = true, RejectEncodedSlash = false }, config.Paths);
        Assert.Equal(new TelemetryConfig { OtlpEndpoint = "http://127.0.0.1:4317", ServiceName = "edge" }, config.Telemetry);
        Assert.Equal(new DecisionCacheConfig { Ttl = TimeSpan.Zero, MaxEntries = 42 }, config.DecisionCache);
        var txn = config.TxnTokens!;
        Assert.Equal(("https://txn.shop.example", "shop.example", TimeSpan.FromSeconds(30), "x-txn", 8 * 1024, TimeSpan.FromMinutes(1)),
            (txn.Issuer, txn.Audience, txn.Lifetime, txn.Header, txn.MaxContextBytes, txn.JwksMaxAge));
        Assert.Equal(["txn-2", "txn-1"], txn.SigningKeys.Select(k => k.KeyId));
        Assert.Equal("txn-2", txn.ActiveKey.KeyId);
        Assert.Equal(_files.Path("txn-2.pem"), txn.ActiveKey.File);
        Assert.True(txn.MintAtGateway);
        Assert.Equal(["spiffe://shop.example/ns/shop/sa/orders"], txn.AllowedCallers);
        Assert.Equal(["corp"], txn.SubjectIssuers);
        Assert.Equal("spiffe://shop.example/gateway", txn.Workload);

        Assert.Equal(
            new[] { "jwks.json", "secret.txt", "hmac.key", "cert.pem", "key.pem", "ca.pem", "bundle.pem", "client.pem", "client-key.pem", "txn-1.pem", "txn-2.pem" }
                .Select(_files.Path).Order(StringComparer.Ordinal),
            result.ReferencedFiles.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LoadYaml_LimitKnobsOmitted_DefaultToTheFormerConstants()
    {
        var result = Load(Minimal.Replace("    audiences: [orders]", "    audiences: [orders]\n    introspection: { endpoint: https://idp.example.com/introspect, client_id: gh }", StringComparison.Ordinal));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var corp = result.Config!.Issuers["corp"];
        Assert.Equal((64 * 1024, 50_000), (corp.Introspection!.MaxResponseBytes, corp.Introspection.CacheMaxEntries));
        Assert.Equal((0.5, 3, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15)),
            (corp.CircuitBreaker.FailureRatio, corp.CircuitBreaker.MinimumThroughput, corp.CircuitBreaker.SamplingDuration, corp.CircuitBreaker.BreakDuration));
        Assert.Equal(10_000, result.Config.Limits.MaxVerifiedTokenCacheEntries);
    }

    [Theory]
    [InlineData("failure_ratio: 1", "sampling_duration: 500ms", "break_duration: 1d")]
    [InlineData("failure_ratio: 0.01", "sampling_duration: 24h", "break_duration: 500ms")]
    public void LoadYaml_CircuitBreakerBounds_AreInclusive(string ratio, string sampling, string breakDuration)
    {
        var yaml = Minimal.Replace("    audiences: [orders]",
            $"    audiences: [orders]\n    circuit_breaker: {{ {ratio}, minimum_throughput: 2, {sampling}, {breakDuration} }}", StringComparison.Ordinal);

        var result = Load(yaml);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
    }

    [Fact]
    public void EnvironmentOverride_SetsCircuitBreakerAndLimitKnobs_ValidatedLikeTheFile()
    {
        var yaml = Minimal.Replace("    audiences: [orders]", "    audiences: [orders]\n    circuit_breaker: { failure_ratio: 0.5 }", StringComparison.Ordinal)
            + "\nlimits: {}\n";

        var result = Load(yaml, new Dictionary<string, string>
        {
            ["GATEHOUSE_ISSUERS__CORP__CIRCUIT_BREAKER__MINIMUM_THROUGHPUT"] = "7",
            ["GATEHOUSE_LIMITS__MAX_VERIFIED_TOKEN_CACHE_ENTRIES"] = "4096",
        });
        var rejected = Load(yaml, new Dictionary<string, string> { ["GATEHOUSE_ISSUERS__CORP__CIRCUIT_BREAKER__FAILURE_RATIO"] = "2" });

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal(7, result.Config!.Issuers["corp"].CircuitBreaker.MinimumThroughput);
        Assert.Equal(4096, result.Config.Limits.MaxVerifiedTokenCacheEntries);
        var error = Assert.Single(rejected.Errors);
        Assert.Equal("issuers.corp.circuit_breaker.failure_ratio", error.Path);
        Assert.Contains("GATEHOUSE_ISSUERS__CORP__CIRCUIT_BREAKER__FAILURE_RATIO", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadYaml_ManyMistakes_ReportsEveryOne()
    {
        var result = Load("""
            version: 2
            issuers:
              corp:
                issuer: https://idp.example.com/
                jwks_uri: http://idp.example.com/keys
                audience: [orders]
                algorithms: [none, HS256]
              corp:
                issuer: x
            listeners:
              - { name: edge, mode: gatway, address: 127.0.0.1 }
              - { name: edge, mode: admin, address: 127.0.0.1:9901, tls: { certificate: nope.pem, key: key.pem } }
            routes:
              - name: orders
                upstream: ftp://files
                authentication: { issuers: [corp, crop], require_token: maybe }
                policies: [missing]
                timeout: soon
            policies:
              p:
                action: permit
                rules:
                  - from: { ip_blocks: [300.1.2.3] }
                    when: { scope: [a] }
            audit: { max_files: many }
            """);

        var expected = new (int Line, int Column, string Path)[]
        {
            (1, 10, "version"),
            (4, 5, "issuers.corp.audiences"),
            (5, 15, "issuers.corp.jwks_uri"),
            (6, 5, "issuers.corp.audience"),
            (7, 18, "issuers.corp.algorithms[0]"),
            (7, 24, "issuers.corp.algorithms[1]"),
            (8, 3, "issuers.corp"),
            (11, 25, "listeners[0].mode"),
            (11, 42, "listeners[0].address"),
            (12, 13, "listeners[1].name"),
            (12, 77, "listeners[1].tls.certificate"),
            (15, 15, "routes[0].upstream"),
            (16, 39, "routes[0].authentication.issuers[1]"),
            (16, 61, "routes[0].authentication.require_token"),
            (17, 16, "routes[0].policies[0]"),
            (18, 14, "routes[0].timeout"),
            (21, 13, "policies.p.action"),
            (23, 29, "policies.p.rules[0].from.ip_blocks[0]"),
            (24, 17, "policies.p.rules[0].when.scope"),
            (25, 21, "audit.max_files"),
        };
        Assert.True(expected.SequenceEqual(result.Errors.Select(e => (e.Line, e.Column, e.Path))), string.Join(Environment.NewLine, result.Errors));
        Assert.False(result.IsValid);
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void LoadYaml_DuplicateKeys_EachReported()
    {
        var result = Load(Minimal + "\nversion: 1\nroutes: []\n");

        Assert.Collection(result.Errors,
            e => Assert.Equal((12, 1, "version", "duplicate key 'version' (first defined at line 1, column 1)"), (e.Line, e.Column, e.Path, e.Message)),
            e => Assert.Equal((13, 1, "routes"), (e.Line, e.Column, e.Path)));
    }

    [Fact]
    public void LoadYaml_Tabs_EveryLineReported()
    {
        var result = Load("version: 1\nissuers:\n\tcorp:\n\t\tissuer: x\n");

        Assert.Equal([(3, 1), (4, 1)], result.Errors.Select(e => (e.Line, e.Column)));
        Assert.All(result.Errors, e => Assert.Contains("tab", e.Message, StringComparison.Ordinal));
        Assert.Null(result.Config);
    }

    [Fact]
    public void LoadYaml_TabInsideQuotedValue_IsFine()
    {
        var result = Load(Minimal.Replace("issuer: https://idp.example.com/", "issuer: \"https://idp.example.com/\"\t# comment", StringComparison.Ordinal));

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    public void LoadYaml_Empty_IsError(string yaml)
    {
        var error = Assert.Single(Load(yaml).Errors);

        Assert.Equal((1, 1), (error.Line, error.Column));
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_Unreadable_OneErrorAtStart()
    {
        var missing = _files.Path("absent.yaml");

        var result = ConfigLoader.LoadFile(missing, s_noEnvironment);

        var error = Assert.Single(result.Errors);
        Assert.Equal((missing, 1, 1), (error.File, error.Line, error.Column));
        Assert.Null(result.Config);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void LoadFile_RelativeFilesResolveAgainstConfigDirectory()
    {
        var file = _files.Path("gatehouse.yaml");
        File.WriteAllText(file, Minimal);

        var result = ConfigLoader.LoadFile(file, s_noEnvironment);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal(_files.Path("jwks.json"), result.Config!.Issuers["corp"].JwksFile);
        Assert.Equal(file, result.Config.SourcePath);
    }

    [Fact]
    public void EnvironmentOverride_ReplacesScalars_CaseInsensitively()
    {
        var result = Load(Minimal, new Dictionary<string, string>
        {
            ["GATEHOUSE_LISTENERS__0__ADDRESS"] = "127.0.0.1:9000",
            ["GATEHOUSE_ISSUERS__CORP__ISSUER"] = "https://other.example.com/",
            ["GATEHOUSE_ISSUERS__CORP__CLOCK_SKEW"] = "5s",
            ["GATEHOUSE_AUDIT__STDOUT"] = "true",
            ["GATEHOUSE_LOG_LEVEL"] = "debug",
            ["PATH"] = "/usr/bin",
        });

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal("127.0.0.1:9000", result.Config!.Listeners[0].Address);
        Assert.Equal("https://other.example.com/", result.Config.Issuers["corp"].Issuer);
        Assert.Equal(TimeSpan.FromSeconds(5), result.Config.Issuers["corp"].ClockSkew);
        Assert.True(result.Config.Audit.Stdout);
    }

    [Fact]
    public void EnvironmentOverride_BadValue_ReportsOverriddenNodeAndVariable()
    {
        var result = Load(Minimal, new Dictionary<string, string> { ["GATEHOUSE_LISTENERS__0__ADDRESS"] = "nowhere" });

        var error = Assert.Single(result.Errors);
        Assert.Equal((8, 43, "listeners[0].address"), (error.Line, error.Column, error.Path));
        Assert.Contains("GATEHOUSE_LISTENERS__0__ADDRESS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentOverride_IndexOutOfRange_IsError()
    {
        var result = Load(Minimal, new Dictionary<string, string> { ["GATEHOUSE_LISTENERS__3__ADDRESS"] = "127.0.0.1:1" });

        var error = Assert.Single(result.Errors);
        Assert.Equal("listeners[3]", error.Path);
        Assert.Contains("GATEHOUSE_LISTENERS__3__ADDRESS", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentOverride_CannotReplaceList()
    {
        var result = Load(Minimal, new Dictionary<string, string> { ["GATEHOUSE_ISSUERS__CORP__AUDIENCES"] = "x" });

        var error = Assert.Single(result.Errors);
        Assert.Equal((6, 16, "issuers.corp.audiences"), (error.Line, error.Column, error.Path));
    }

    [Fact]
    public void EnvironmentOverride_UnknownKey_ReportedWithVariable()
    {
        var result = Load(Minimal, new Dictionary<string, string> { ["GATEHOUSE_ISSUERS__CORP__AUDIENCE"] = "x" });

        var error = Assert.Single(result.Errors);
        Assert.Equal("issuers.corp.audience", error.Path);
        Assert.Contains("did you mean 'audiences'?", error.Message, StringComparison.Ordinal);
        Assert.Contains("GATEHOUSE_ISSUERS__CORP__AUDIENCE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentOverride_AddsMissingKey()
    {
        var result = Load(Minimal, new Dictionary<string, string> { ["GATEHOUSE_TELEMETRY__SERVICE_NAME"] = "edge-7" });

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal("edge-7", result.Config!.Telemetry.ServiceName);
    }

    [Fact]
    public void EffectiveConfigWriter_WritesEveryField_RedactsUrlCredentials()
    {
        var config = Load(EveryField).Config! with
        {
            Routes = [new RouteConfig { Name = "r", Upstream = "https://user:hunter2@orders.internal/?token=q7Zk9sec3&x=1" }],
        };
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            EffectiveConfigWriter.WriteJson(config, writer);
        }

        var json = Encoding.UTF8.GetString(stream.ToArray());
        Assert.DoesNotContain("hunter2", json, StringComparison.Ordinal);
        // A secret no random temp-directory name in the config can contain by chance ('abc' once did).
        Assert.DoesNotContain("q7Zk9sec3", json, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("https://REDACTED@orders.internal/?token=REDACTED&x=REDACTED", root.GetProperty("routes")[0].GetProperty("upstream").GetString());
        Assert.Equal("500ms", root.GetProperty("issuers").GetProperty("corp").GetProperty("clock_skew").GetString());
        Assert.Equal("1d", root.GetProperty("issuers").GetProperty("corp").GetProperty("keys").GetProperty("max_stale").GetString());
        var breaker = root.GetProperty("issuers").GetProperty("corp").GetProperty("circuit_breaker");
        Assert.Equal((0.25, 10, "1m", "500ms"), (breaker.GetProperty("failure_ratio").GetDouble(), breaker.GetProperty("minimum_throughput").GetInt32(),
            breaker.GetProperty("sampling_duration").GetString(), breaker.GetProperty("break_duration").GetString()));
        var introspection = root.GetProperty("issuers").GetProperty("corp").GetProperty("introspection");
        Assert.Equal((131072, 777), (introspection.GetProperty("max_response_bytes").GetInt32(), introspection.GetProperty("cache_max_entries").GetInt32()));
        Assert.Equal(2048, root.GetProperty("limits").GetProperty("max_verified_token_cache_entries").GetInt32());
        Assert.Equal("ext_authz_grpc", root.GetProperty("listeners")[1].GetProperty("mode").GetString());
        Assert.Equal("deny", root.GetProperty("policies").GetProperty("p").GetProperty("action").GetString());
        Assert.Equal(["blocked"], root.GetProperty("policies").GetProperty("p").GetProperty("rules")[0].GetProperty("when")
            .GetProperty("not_claims.tenant.id").EnumerateArray().Select(v => v.GetString()));

        // Every section and every field name the binder knows appears in the output.
        foreach (var key in ConfigKeys.Root.Concat(ConfigKeys.Issuer).Concat(ConfigKeys.CircuitBreaker).Concat(ConfigKeys.Listener).Concat(ConfigKeys.Tls)
            .Concat(ConfigKeys.Introspection).Concat(ConfigKeys.Keys).Concat(ConfigKeys.Audit).Concat(ConfigKeys.Limits)
            .Concat(ConfigKeys.Paths).Concat(ConfigKeys.Telemetry).Concat(ConfigKeys.DecisionCache).Concat(ConfigKeys.Policy)
            .Concat(ConfigKeys.Route).Concat(ConfigKeys.Authentication).Concat(ConfigKeys.From).Concat(ConfigKeys.To))
        {
            Assert.Contains($"\"{key}\":", json, StringComparison.Ordinal);
        }
    }
}
