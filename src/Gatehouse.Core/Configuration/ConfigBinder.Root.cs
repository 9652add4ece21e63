namespace Gatehouse.Configuration;

internal sealed partial class ConfigBinder
{
    private readonly Dictionary<string, IssuerConfig> _issuers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PolicyConfig> _policies = new(StringComparer.Ordinal);
    private readonly List<ListenerConfig> _listeners = [];
    private readonly List<RouteConfig> _routes = [];

    /// <summary>Binds the document root; returns null only when the root is not a mapping.</summary>
    public GatehouseConfig? Bind(YNode root)
    {
        if (root is not YMapping mapping)
        {
            Error(root, "<root>", root is YScalar { IsNull: true }
                ? "the config is empty; it needs at least 'version: 1'"
                : $"the config must be a mapping of sections (version, issuers, listeners, ...), got {root.KindName}");
            return null;
        }

        var config = new GatehouseConfig();
        var entries = Entries(mapping, "", ConfigKeys.Root);
        YNode? issuersNode = null, policiesNode = null, listenersNode = null, routesNode = null;
        var sawVersion = false;
        foreach (var (key, value, path) in entries)
        {
            switch (key)
            {
                case "version":
                    sawVersion = true;
                    if (Integer(value, path, int.MinValue, int.MaxValue) is { } version)
                    {
                        if (version != 1)
                        {
                            Error(value, path, $"unsupported config version {version}; this Gatehouse reads version 1");
                        }

                        config = config with { Version = (int)version };
                    }

                    break;
                case "issuers":
                    issuersNode = value;
                    break;
                case "policies":
                    policiesNode = value;
                    break;
                case "listeners":
                    listenersNode = value;
                    break;
                case "routes":
                    routesNode = value;
                    break;
                case "audit":
                    config = config with { Audit = BindAudit(value, path) };
                    break;
                case "limits":
                    config = config with { Limits = BindLimits(value, path) };
                    break;
                case "paths":
                    config = config with { Paths = BindPaths(value, path) };
                    break;
                case "telemetry":
                    config = config with { Telemetry = BindTelemetry(value, path) };
                    break;
                case "decision_cache":
                    config = config with { DecisionCache = BindDecisionCache(value, path) };
                    break;
                case "state":
                    config = config with { State = BindState(value, path) };
                    break;
                case "admin":
                    config = config with { Admin = BindAdmin(value, path) };
                    break;
                case "txn_tokens":
                    config = config with { TxnTokens = BindTxnTokens(value, path) };
                    break;
            }
        }

        if (!sawVersion)
        {
            Missing(mapping, "", "version", "add 'version: 1' at the top of the file");
        }

        // Note: referenced sections are bound first so references can be checked in one place, whatever the
        // order of sections in the file.
        if (issuersNode is not null)
        {
            BindIssuers(issuersNode, "issuers");
        }

        if (policiesNode is not null)
        {
            BindPolicies(policiesNode, "policies");
        }

        if (listenersNode is not null)
        {
            BindListeners(listenersNode, "listeners");
        }

        if (routesNode is not null)
        {
            BindRoutes(routesNode, "routes");
        }

        foreach (var check in _deferred)
        {
            check();
        }

        WarnUnprotectedConsole(config.Admin);
        CheckTxnTokenListeners(config, mapping);

        return config with
        {
            Issuers = _issuers,
            Policies = _policies,
            Listeners = _listeners,
            Routes = _routes,
        };
    }

    private AuditConfig BindAudit(YNode node, string path)
    {
        var result = new AuditConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Audit))
        {
            switch (key)
            {
                case "path":
                    // Note: an output file, so it need not exist yet; it is resolved like every other path.
                    if (NonEmptyString(value, p) is { } file)
                    {
                        result = result with { Path = Path.GetFullPath(file, _baseDirectory) };
                    }

                    break;
                case "stdout":
                    result = result with { Stdout = Bool(value, p) ?? result.Stdout };
                    break;
                case "max_file_bytes":
                    result = result with { MaxFileBytes = Size(value, p, 1024, long.MaxValue) ?? result.MaxFileBytes };
                    break;
                case "max_files":
                    result = result with { MaxFiles = (int?)Integer(value, p, 1, 10_000) ?? result.MaxFiles };
                    break;
                case "queue_capacity":
                    result = result with { QueueCapacity = (int?)Integer(value, p, 1, 10_000_000) ?? result.QueueCapacity };
                    break;
                case "include_query":
                    result = result with { IncludeQuery = Bool(value, p) ?? result.IncludeQuery };
                    break;
            }
        }

        return result;
    }

    private LimitsConfig BindLimits(YNode node, string path)
    {
        var result = new LimitsConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Limits))
        {
            switch (key)
            {
                case "max_request_headers_total_bytes":
                    result = result with { MaxRequestHeadersTotalBytes = (int?)Size(value, p, 1024, int.MaxValue) ?? result.MaxRequestHeadersTotalBytes };
                    break;
                case "max_request_header_count":
                    result = result with { MaxRequestHeaderCount = (int?)Integer(value, p, 1, 100_000) ?? result.MaxRequestHeaderCount };
                    break;
                case "max_request_body_bytes":
                    result = result with { MaxRequestBodyBytes = Size(value, p, 0, long.MaxValue) ?? result.MaxRequestBodyBytes };
                    break;
                case "max_concurrent_requests":
                    result = result with { MaxConcurrentRequests = (int?)Integer(value, p, 0, int.MaxValue) ?? result.MaxConcurrentRequests };
                    break;
                case "max_verified_token_cache_entries":
                    // Note: the cache keeps at least 16 entries whatever it is given; a smaller bound is refused
                    // rather than silently raised.
                    result = result with { MaxVerifiedTokenCacheEntries = (int?)Integer(value, p, 16, MaxCacheEntries) ?? result.MaxVerifiedTokenCacheEntries };
                    break;
            }
        }

        return result;
    }

    private PathNormalizationConfig BindPaths(YNode node, string path)
    {
        var result = new PathNormalizationConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Paths))
        {
            switch (key)
            {
                case "merge_slashes":
                    result = result with { MergeSlashes = Bool(value, p) ?? result.MergeSlashes };
                    break;
                case "lowercase_paths":
                    result = result with { LowercasePaths = Bool(value, p) ?? result.LowercasePaths };
                    break;
                case "reject_encoded_slash":
                    result = result with { RejectEncodedSlash = Bool(value, p) ?? result.RejectEncodedSlash };
                    break;
                case "allow_path_parameters":
                    result = result with { AllowPathParameters = Bool(value, p) ?? result.AllowPathParameters };
                    break;
            }
        }

        return result;
    }

    private TelemetryConfig BindTelemetry(YNode node, string path)
    {
        var result = new TelemetryConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Telemetry))
        {
            switch (key)
            {
                case "otlp_endpoint":
                    result = result with { OtlpEndpoint = Url(value, p, httpsUnlessLoopback: false) };
                    break;
                case "service_name":
                    result = result with { ServiceName = NonEmptyString(value, p) ?? result.ServiceName };
                    break;
            }
        }

        return result;
    }

    private DecisionCacheConfig BindDecisionCache(YNode node, string path)
    {
        var result = new DecisionCacheConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.DecisionCache))
        {
            switch (key)
            {
                case "ttl":
                    // Note: 0 disables the cache.
                    result = result with { Ttl = Duration(value, p, allowZero: true) ?? result.Ttl };
                    break;
                case "max_entries":
                    result = result with { MaxEntries = (int?)Integer(value, p, 0, int.MaxValue) ?? result.MaxEntries };
                    break;
                case "shared":
                    result = result with { Shared = Bool(value, p) ?? result.Shared };
                    break;
            }
        }

        return result;
    }

    private AdminConfig BindAdmin(YNode node, string path)
    {
        var result = new AdminConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Admin))
        {
            switch (key)
            {
                case "ui":
                    result = result with { Ui = Bool(value, p) ?? result.Ui };
                    break;
                case "ui_token_file":
                    result = result with { UiTokenFile = FilePath(value, p) };
                    break;
                case "ui_window":
                    result = result with { UiWindow = Duration(value, p, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1)) ?? result.UiWindow };
                    break;
                case "ui_max_decisions":
                    result = result with { UiMaxDecisions = (int?)Integer(value, p, 100, 1_000_000) ?? result.UiMaxDecisions };
                    break;
            }
        }

        return result;
    }

    /// <summary>
    /// The console shows who calls whom and lets anyone who reaches it run explain: outside loopback it needs a
    /// <c>ui_token_file</c> or mTLS on the admin listener. Not an error (a pod-internal address behind a
    /// NetworkPolicy can be a deliberate choice), but never silent.
    /// </summary>
    private void WarnUnprotectedConsole(AdminConfig admin)
    {
        if (!admin.Ui || admin.UiTokenFile is not null)
        {
            return;
        }

        foreach (var (listener, node) in _adminListeners)
        {
            var mtls = listener.Tls is { ClientCertificate: ClientCertificateRequirement.Require };
            if (!mtls && !ConfigValues.IsLoopbackAddress(listener.Address))
            {
                Warn(node, $"listeners.{listener.Name}.address",
                    $"the admin console (/ui) on '{listener.Address}' is reachable beyond loopback without admin.ui_token_file or mTLS (tls.client_certificate: require); set one, or admin.ui: false");
            }
        }
    }
}
