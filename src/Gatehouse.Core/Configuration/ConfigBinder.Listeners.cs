namespace Gatehouse.Configuration;

internal sealed partial class ConfigBinder
{
    private static readonly string[] s_modes = ConfigKeyRegistry.ValuesOf("listener", "mode");
    private static readonly string[] s_clientCertificateModes = ["none", "optional", "require"];

    internal static ListenerMode ParseMode(string mode) => mode switch
    {
        "gateway" => ListenerMode.Gateway,
        "inbound" => ListenerMode.Inbound,
        "outbound" => ListenerMode.Outbound,
        "ext_authz_grpc" => ListenerMode.ExtAuthzGrpc,
        "ext_authz_http" => ListenerMode.ExtAuthzHttp,
        "txn_token_service" => ListenerMode.TxnTokenService,
        _ => ListenerMode.Admin,
    };

    internal static string FormatMode(ListenerMode mode) => mode switch
    {
        ListenerMode.Gateway => "gateway",
        ListenerMode.Inbound => "inbound",
        ListenerMode.Outbound => "outbound",
        ListenerMode.ExtAuthzGrpc => "ext_authz_grpc",
        ListenerMode.ExtAuthzHttp => "ext_authz_http",
        ListenerMode.TxnTokenService => "txn_token_service",
        _ => "admin",
    };

    private void BindListeners(YNode node, string path)
    {
        if (AsSequence(node, path) is not { } sequence)
        {
            return;
        }

        var names = new Dictionary<string, YNode>(StringComparer.Ordinal);
        var addresses = new Dictionary<string, YNode>(StringComparer.OrdinalIgnoreCase);
        YNode? adminNode = null;
        for (var i = 0; i < sequence.Items.Count; i++)
        {
            var itemPath = Index(path, i);
            if (AsMapping(sequence.Items[i], itemPath) is not { } mapping)
            {
                if (sequence.Items[i] is YScalar { IsNull: true })
                {
                    Error(sequence.Items[i], itemPath, "empty listener; it needs name, mode and address");
                }

                continue;
            }

            var listener = new ListenerConfig();
            YNode? nameNode = null, modeNode = null, addressNode = null, detailsNode = null, stripNode = null, underscoresNode = null, dpopNode = null;
            List<(string Value, YNode Node, string Path)>? routeRefs = null;
            List<(ListenerMode Mode, YNode Node, string Path)>? extAuthzModeKeys = null;
            foreach (var (key, value, p) in Entries(mapping, itemPath, ConfigKeys.Listener))
            {
                switch (key)
                {
                    case "name":
                        nameNode = value;
                        listener = listener with { Name = NonEmptyString(value, p) ?? "" };
                        break;
                    case "mode":
                        modeNode = value;
                        if (OneOf(value, p, s_modes, "listener mode") is { } mode)
                        {
                            listener = listener with { Mode = ParseMode(mode) };
                        }

                        break;
                    case "address":
                        addressNode = value;
                        if (NonEmptyString(value, p) is { } address)
                        {
                            if (ConfigValues.ValidateAddress(address) is { } problem)
                            {
                                Error(value, p, problem);
                            }
                            else if (!address.EndsWith(":0", StringComparison.Ordinal) && !addresses.TryAdd(address, value))
                            {
                                Error(value, p, $"address '{address}' is already used by another listener (line {addresses[address].Line})");
                            }

                            listener = listener with { Address = address };
                        }

                        break;
                    case "tls":
                        listener = listener with { Tls = BindTls(value, p) };
                        break;
                    case "trust_forwarded_client_cert":
                        listener = listener with { TrustForwardedClientCert = Bool(value, p) ?? false };
                        break;
                    case "routes":
                        routeRefs = StringItems(value, p);
                        listener = listener with { Routes = routeRefs.ConvertAll(r => r.Value) };
                        break;
                    case "ext_authz":
                        listener = listener with { ExtAuthz = BindExtAuthz(value, p, out extAuthzModeKeys) };
                        break;
                    case "include_error_details":
                        detailsNode = value;
                        listener = listener with { IncludeErrorDetails = Bool(value, p) ?? false };
                        break;
                    case "dpop":
                        dpopNode = value;
                        listener = listener with { Dpop = BindDpop(value, p) };
                        break;
                    case "strip_untrusted_headers":
                        stripNode = value;
                        listener = listener with { StripUntrustedHeaders = Bool(value, p) ?? true };
                        break;
                    case "headers_with_underscores":
                        underscoresNode = value;
                        listener = listener with
                        {
                            HeadersWithUnderscores = OneOf(value, p, ConfigKeys.HeadersWithUnderscores, "headers_with_underscores action") switch
                            {
                                "reject" => UnderscoreHeaderAction.Reject,
                                "allow" => UnderscoreHeaderAction.Allow,
                                _ => UnderscoreHeaderAction.Drop,
                            },
                        };
                        break;
                }
            }

            // Note: these shape the request a gateway or sidecar forwards; ext_authz and admin listeners forward nothing.
            foreach (var (keyNode, key) in new[] { (stripNode, "strip_untrusted_headers"), (underscoresNode, "headers_with_underscores") })
            {
                if (keyNode is not null && listener.Mode is ListenerMode.ExtAuthzGrpc or ListenerMode.ExtAuthzHttp or ListenerMode.Admin or ListenerMode.TxnTokenService)
                {
                    Error(keyNode, Child(itemPath, key), listener.Mode == ListenerMode.Admin
                        ? $"{key} applies to gateway and sidecar listeners; the admin listener forwards nothing"
                        : $"{key} applies to gateway and sidecar listeners; behind Envoy, use its headers_with_underscores_action and request_headers_to_remove");
                }
            }

            if (dpopNode is not null && listener.Mode is ListenerMode.Admin or ListenerMode.Outbound or ListenerMode.TxnTokenService)
            {
                // Note: outbound listeners take requests from the local app, which presents no DPoP proofs to them.
                Error(dpopNode, Child(itemPath, "dpop"), "dpop applies to gateway, inbound and ext_authz listeners (the ones that receive tokens)");
            }

            if (detailsNode is not null && listener.Mode is ListenerMode.ExtAuthzGrpc or ListenerMode.ExtAuthzHttp or ListenerMode.Admin or ListenerMode.TxnTokenService)
            {
                // Note: a key that silently does nothing would be worse than an error.
                Error(detailsNode, Child(itemPath, "include_error_details"), listener.Mode == ListenerMode.Admin
                    ? "include_error_details applies to gateway and sidecar listeners; the admin listener writes no denials"
                    : "on an ext_authz listener, set ext_authz.include_error_details instead");
            }

            foreach (var (mode, keyNode, keyPath) in extAuthzModeKeys ?? [])
            {
                if (modeNode is not null && listener.Mode != mode)
                {
                    // Note: a key that silently does nothing would be worse than an error.
                    Error(keyNode, keyPath, $"applies to {FormatMode(mode)} listeners only");
                }
            }

            if (nameNode is null)
            {
                Missing(mapping, itemPath, "name");
            }
            else if (listener.Name.Length > 0 && !names.TryAdd(listener.Name, nameNode))
            {
                Error(nameNode, Child(itemPath, "name"), $"duplicate listener name '{listener.Name}' (first used at line {names[listener.Name].Line})");
            }

            if (modeNode is null)
            {
                Missing(mapping, itemPath, "mode", $"one of {string.Join(", ", s_modes)}");
            }
            else if (listener.Mode == ListenerMode.Admin && modeNode is YScalar { Value: "admin" })
            {
                if (adminNode is not null)
                {
                    Error(modeNode, Child(itemPath, "mode"), $"at most one admin listener is allowed (another is defined at line {adminNode.Line})");
                }

                adminNode ??= modeNode;
            }

            if (addressNode is null)
            {
                Missing(mapping, itemPath, "address", "host:port, e.g. 127.0.0.1:8080");
            }

            if (routeRefs is not null)
            {
                _deferred.Add(() =>
                {
                    foreach (var (route, refNode, refPath) in routeRefs)
                    {
                        if (!_routes.Exists(r => r.Name == route))
                        {
                            Error(refNode, refPath, UnknownReference("route", route, _routes.Select(r => r.Name)));
                        }
                    }
                });
            }

            if (listener.Mode == ListenerMode.TxnTokenService && modeNode is not null)
            {
                _txnServiceListeners.Add((listener, modeNode, itemPath));
            }

            _listeners.Add(listener);
            if (listener.Mode == ListenerMode.Admin)
            {
                _adminListeners.Add((listener, addressNode ?? mapping));
            }
        }
    }

    private ExtAuthzListenerConfig BindExtAuthz(YNode node, string path, out List<(ListenerMode Mode, YNode Node, string Path)> modeKeys)
    {
        var result = new ExtAuthzListenerConfig();
        modeKeys = [];
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.ExtAuthz))
        {
            switch (key)
            {
                case "path_prefix":
                    if (String(value, p) is { } prefix)
                    {
                        if (prefix.Length > 0 && (!prefix.StartsWith('/') || prefix.EndsWith('/')))
                        {
                            Error(value, p, "must start with '/' and not end with '/' (e.g. /check), or be empty");
                        }

                        result = result with { PathPrefix = prefix };
                    }

                    break;
                case "max_receive_message_bytes":
                    if (Size(value, p, 1024, 64L * 1024 * 1024) is { } size)
                    {
                        result = result with { MaxReceiveMessageBytes = (int)size };
                    }

                    break;
                case "include_error_details":
                    result = result with { IncludeErrorDetails = Bool(value, p) ?? false };
                    break;
                case "status_on_unavailable":
                    // Envoy's HTTP ext_authz client treats any 5xx as an error (RawHttpClientImpl::toResponse), which
                    // failure_mode_allow turns into an allow: "cannot decide" must be a 4xx denial.
                    modeKeys.Add((ListenerMode.ExtAuthzHttp, value, p));
                    result = result with { StatusOnUnavailable = (int?)Integer(value, p, 400, 499) ?? result.StatusOnUnavailable };
                    break;
                case "reflection":
                    modeKeys.Add((ListenerMode.ExtAuthzGrpc, value, p));
                    result = result with { Reflection = Bool(value, p) ?? false };
                    break;
            }
        }

        return result;
    }

    private TlsConfig? BindTls(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new TlsConfig();
        YNode? clientCertificateNode = null;
        bool sawCertificate = false, sawKey = false;
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Tls))
        {
            switch (key)
            {
                case "certificate":
                    sawCertificate = true;
                    result = result with { Certificate = FilePath(value, p) ?? "" };
                    break;
                case "key":
                    sawKey = true;
                    result = result with { Key = FilePath(value, p) ?? "" };
                    break;
                case "client_ca":
                    result = result with { ClientCa = FilePath(value, p) };
                    break;
                case "client_certificate":
                    clientCertificateNode = value;
                    result = result with
                    {
                        ClientCertificate = OneOf(value, p, s_clientCertificateModes, "client certificate mode") switch
                        {
                            "optional" => ClientCertificateRequirement.Optional,
                            "require" => ClientCertificateRequirement.Require,
                            _ => ClientCertificateRequirement.None,
                        },
                    };
                    break;
                case "trust_bundles":
                    var (files, endpoints) = BindTrustBundles(value, p);
                    result = result with { TrustBundles = files, TrustBundleEndpoints = endpoints };
                    break;
            }
        }

        if (!sawCertificate)
        {
            Missing(mapping, path, "certificate", "PEM certificate chain file");
        }

        if (!sawKey)
        {
            Missing(mapping, path, "key", "PEM private key file");
        }

        if (result.ClientCertificate != ClientCertificateRequirement.None && result.ClientCa is null && result.TrustBundles.Count == 0 && result.TrustBundleEndpoints.Count == 0)
        {
            Error(clientCertificateNode!, Child(path, "client_certificate"),
                "client certificates need something to verify them against: set client_ca or trust_bundles");
        }

        return result;
    }

    /// <summary>
    /// <c>tls.trust_bundles</c>: trust domain → a PEM bundle file, or → <c>{ endpoint: URL, … }</c> (a SPIFFE federation
    /// bundle endpoint). Trust domain names are checked here (SPIFFE ID spec §2.1), so a typo is a check error.
    /// </summary>
    private (Dictionary<string, string> Files, Dictionary<string, TrustBundleEndpointConfig> Endpoints) BindTrustBundles(YNode node, string path)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var endpoints = new Dictionary<string, TrustBundleEndpointConfig>(StringComparer.Ordinal);
        if (AsMapping(node, path) is not { } mapping)
        {
            return (files, endpoints);
        }

        foreach (var (key, value, p) in MapEntries(mapping, path))
        {
            if (!ConfigValues.IsSpiffeTrustDomain(key.Value))
            {
                Error(key, p, $"'{key.Value}' is not a SPIFFE trust domain name (lower-case letters, digits, '.', '-', '_')");
                continue;
            }

            if (value is YMapping endpointMapping)
            {
                if (BindTrustBundleEndpoint(endpointMapping, p) is { } endpoint)
                {
                    endpoints[key.Value] = endpoint;
                }
            }
            else if (FilePath(value, p) is { } file)
            {
                files[key.Value] = file;
            }
        }

        return (files, endpoints);
    }

    private TrustBundleEndpointConfig? BindTrustBundleEndpoint(YMapping mapping, string path)
    {
        var result = new TrustBundleEndpointConfig();
        var sawEndpoint = false;
        YNode? maxStaleNode = null;
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.TrustBundleEndpoint))
        {
            switch (key)
            {
                case "endpoint":
                    sawEndpoint = true;
                    // SPIFFE bundle spec §5: a TLS-protected endpoint; plain http only to loopback (development), as for JWKS.
                    result = result with { Endpoint = Url(value, p, httpsUnlessLoopback: true) ?? "" };
                    break;
                case "refresh_interval":
                    result = result with { RefreshInterval = Duration(value, p, TimeSpan.FromSeconds(1), TimeSpan.FromDays(30)) ?? result.RefreshInterval };
                    break;
                case "max_stale":
                    maxStaleNode = value;
                    result = result with { MaxStale = Duration(value, p, TimeSpan.FromSeconds(1), TimeSpan.FromDays(365)) ?? result.MaxStale };
                    break;
                case "fetch_timeout":
                    result = result with { FetchTimeout = Duration(value, p, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5)) ?? result.FetchTimeout };
                    break;
                case "endpoint_ca":
                    result = result with { EndpointCa = FilePath(value, p) };
                    break;
            }
        }

        if (!sawEndpoint)
        {
            Missing(mapping, path, "endpoint", "the https URL of the trust domain's SPIFFE bundle endpoint");
            return null;
        }

        if (maxStaleNode is not null && result.MaxStale < result.RefreshInterval)
        {
            Error(maxStaleNode, Child(path, "max_stale"), $"max_stale ({ConfigValues.FormatDuration(result.MaxStale)}) is shorter than refresh_interval ({ConfigValues.FormatDuration(result.RefreshInterval)}): the bundle would go stale between two refreshes");
        }

        return result;
    }

    private static string UnknownReference(string what, string name, IEnumerable<string> known)
    {
        var names = known.Where(n => n.Length > 0).ToList();
        var suggestion = ConfigKeys.Closest(name, names);
        return suggestion is not null
            ? $"unknown {what} '{name}'; did you mean '{suggestion}'?"
            : names.Count == 0
                ? $"unknown {what} '{name}'; no {what}s are defined"
                : $"unknown {what} '{name}'; defined: {string.Join(", ", names)}";
    }
}
