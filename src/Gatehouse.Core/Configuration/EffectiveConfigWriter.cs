using System.Text.Json;

namespace Gatehouse.Configuration;

/// <summary>
/// Writes the effective config (every field, defaults included) as JSON for the admin <c>/config</c> endpoint,
/// using the same snake_case names and duration syntax as the YAML so the output can be read against the docs.
/// </summary>
/// <remarks>
/// The model holds no secret values (secrets live in files and only their paths are configured), but URLs can
/// carry credentials: userinfo (<c>https://user:pass@host</c>) and query values are replaced by
/// <c>REDACTED</c>. Hand-written (no reflection) so the Core stays AOT compatible.
/// </remarks>
public static class EffectiveConfigWriter
{
    /// <summary>The replacement for redacted parts of values.</summary>
    public const string Redacted = "REDACTED";

    /// <summary>Writes <paramref name="config"/> as one JSON object.</summary>
    public static void WriteJson(GatehouseConfig config, Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(writer);

        writer.WriteStartObject();
        writer.WriteNumber("version", config.Version);
        if (config.SourcePath is not null)
        {
            writer.WriteString("source_path", config.SourcePath);
        }

        writer.WriteStartObject("issuers");
        foreach (var (name, issuer) in config.Issuers.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            writer.WritePropertyName(name);
            WriteIssuer(writer, issuer);
        }

        writer.WriteEndObject();

        writer.WriteStartArray("listeners");
        foreach (var listener in config.Listeners)
        {
            WriteListener(writer, listener);
        }

        writer.WriteEndArray();

        writer.WriteStartArray("routes");
        foreach (var route in config.Routes)
        {
            WriteRoute(writer, route);
        }

        writer.WriteEndArray();

        writer.WriteStartObject("policies");
        foreach (var (name, policy) in config.Policies.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            writer.WritePropertyName(name);
            WritePolicy(writer, policy);
        }

        writer.WriteEndObject();

        var audit = config.Audit;
        writer.WriteStartObject("audit");
        WriteOptional(writer, "path", audit.Path);
        writer.WriteBoolean("stdout", audit.Stdout);
        writer.WriteNumber("max_file_bytes", audit.MaxFileBytes);
        writer.WriteNumber("max_files", audit.MaxFiles);
        writer.WriteNumber("queue_capacity", audit.QueueCapacity);
        writer.WriteBoolean("include_query", audit.IncludeQuery);
        writer.WriteEndObject();

        var limits = config.Limits;
        writer.WriteStartObject("limits");
        writer.WriteNumber("max_request_headers_total_bytes", limits.MaxRequestHeadersTotalBytes);
        writer.WriteNumber("max_request_header_count", limits.MaxRequestHeaderCount);
        writer.WriteNumber("max_request_body_bytes", limits.MaxRequestBodyBytes);
        writer.WriteNumber("max_concurrent_requests", limits.MaxConcurrentRequests);
        writer.WriteNumber("max_verified_token_cache_entries", limits.MaxVerifiedTokenCacheEntries);
        writer.WriteEndObject();

        var paths = config.Paths;
        writer.WriteStartObject("paths");
        writer.WriteBoolean("merge_slashes", paths.MergeSlashes);
        writer.WriteBoolean("lowercase_paths", paths.LowercasePaths);
        writer.WriteBoolean("reject_encoded_slash", paths.RejectEncodedSlash);
        writer.WriteBoolean("allow_path_parameters", paths.AllowPathParameters);
        writer.WriteEndObject();

        writer.WriteStartObject("telemetry");
        WriteOptional(writer, "otlp_endpoint", RedactUrl(config.Telemetry.OtlpEndpoint));
        writer.WriteString("service_name", config.Telemetry.ServiceName);
        writer.WriteEndObject();

        writer.WriteStartObject("decision_cache");
        WriteDuration(writer, "ttl", config.DecisionCache.Ttl);
        writer.WriteNumber("max_entries", config.DecisionCache.MaxEntries);
        writer.WriteBoolean("shared", config.DecisionCache.Shared);
        writer.WriteEndObject();

        var state = config.State;
        writer.WriteStartObject("state");
        writer.WriteString("backend", state.Backend == StateBackend.Redis ? "redis" : "memory");
        writer.WriteNumber("max_entries", state.MaxEntries);
        writer.WriteStartObject("redis");
        writer.WriteString("endpoint", state.Redis.Endpoint);
        writer.WriteString("key_prefix", state.Redis.KeyPrefix);
        WriteDuration(writer, "connect_timeout", state.Redis.ConnectTimeout);
        writer.WriteEndObject();
        writer.WriteEndObject();

        writer.WriteStartObject("admin");
        writer.WriteBoolean("ui", config.Admin.Ui);
        // Note: the file's path only, never its contents.
        WriteOptional(writer, "ui_token_file", config.Admin.UiTokenFile);
        WriteDuration(writer, "ui_window", config.Admin.UiWindow);
        writer.WriteNumber("ui_max_decisions", config.Admin.UiMaxDecisions);
        writer.WriteEndObject();

        WriteTxnTokens(writer, config.TxnTokens);

        writer.WriteEndObject();
    }

    private static void WriteIssuer(Utf8JsonWriter writer, IssuerConfig issuer)
    {
        writer.WriteStartObject();
        writer.WriteString("issuer", RedactUrl(issuer.Issuer));
        writer.WriteBoolean("discovery", issuer.Discovery);
        WriteOptional(writer, "discovery_uri", RedactUrl(issuer.DiscoveryUri));
        WriteOptional(writer, "jwks_uri", RedactUrl(issuer.JwksUri));
        WriteOptional(writer, "jwks_file", issuer.JwksFile);
        WriteStrings(writer, "audiences", issuer.Audiences);
        WriteStrings(writer, "tenants", issuer.Tenants);
        WriteStrings(writer, "algorithms", issuer.Algorithms);
        WriteDuration(writer, "clock_skew", issuer.ClockSkew);
        WriteOptional(writer, "require_type", issuer.RequireType);
        if (issuer.Introspection is { } introspection)
        {
            writer.WriteStartObject("introspection");
            writer.WriteString("endpoint", RedactUrl(introspection.Endpoint));
            writer.WriteString("client_id", introspection.ClientId);
            WriteOptional(writer, "client_secret_file", introspection.ClientSecretFile);
            writer.WriteString("auth_method", introspection.AuthMethod);
            WriteDuration(writer, "cache_ttl", introspection.CacheTtl);
            WriteDuration(writer, "negative_cache_ttl", introspection.NegativeCacheTtl);
            WriteDuration(writer, "timeout", introspection.Timeout);
            writer.WriteNumber("max_response_bytes", introspection.MaxResponseBytes);
            writer.WriteNumber("cache_max_entries", introspection.CacheMaxEntries);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("introspection");
        }

        writer.WriteString("profile", issuer.Profile);
        WriteOptional(writer, "profile_client", issuer.ProfileClient);
        WriteOptional(writer, "hmac_secret_file", issuer.HmacSecretFile);
        writer.WriteStartObject("keys");
        WriteDuration(writer, "refresh_interval", issuer.Keys.RefreshInterval);
        WriteDuration(writer, "min_refresh_interval", issuer.Keys.MinRefreshInterval);
        WriteDuration(writer, "max_stale", issuer.Keys.MaxStale);
        WriteDuration(writer, "fetch_timeout", issuer.Keys.FetchTimeout);
        writer.WriteNumber("max_document_bytes", issuer.Keys.MaxDocumentBytes);
        writer.WriteEndObject();
        writer.WriteStartArray("role_mappings");
        foreach (var mapping in issuer.RoleMappings)
        {
            writer.WriteStartObject();
            writer.WriteString("claim", mapping.Claim);
            writer.WriteString("value", mapping.Value);
            writer.WriteString("role", mapping.Role);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteBoolean("require_bound_tokens", issuer.RequireBoundTokens);
        writer.WriteNumber("max_token_bytes", issuer.MaxTokenBytes);
        writer.WriteStartObject("circuit_breaker");
        writer.WriteNumber("failure_ratio", issuer.CircuitBreaker.FailureRatio);
        writer.WriteNumber("minimum_throughput", issuer.CircuitBreaker.MinimumThroughput);
        WriteDuration(writer, "sampling_duration", issuer.CircuitBreaker.SamplingDuration);
        WriteDuration(writer, "break_duration", issuer.CircuitBreaker.BreakDuration);
        writer.WriteEndObject();
        writer.WriteString("kind", issuer.Kind == IssuerKind.TxnToken ? "txn_token" : "access_token");
        WriteDuration(writer, "max_lifetime", issuer.MaxLifetime);
        writer.WriteEndObject();
    }

    private static void WriteListener(Utf8JsonWriter writer, ListenerConfig listener)
    {
        writer.WriteStartObject();
        writer.WriteString("name", listener.Name);
        writer.WriteString("mode", ConfigBinder.FormatMode(listener.Mode));
        writer.WriteString("address", listener.Address);
        if (listener.Tls is { } tls)
        {
            writer.WriteStartObject("tls");
            writer.WriteString("certificate", tls.Certificate);
            writer.WriteString("key", tls.Key);
            WriteOptional(writer, "client_ca", tls.ClientCa);
            writer.WriteString("client_certificate", tls.ClientCertificate switch
            {
                ClientCertificateRequirement.Optional => "optional",
                ClientCertificateRequirement.Require => "require",
                _ => "none",
            });
            writer.WriteStartObject("trust_bundles");
            foreach (var (domain, file) in tls.TrustBundles.OrderBy(b => b.Key, StringComparer.Ordinal))
            {
                writer.WriteString(domain, file);
            }

            foreach (var (domain, endpoint) in tls.TrustBundleEndpoints.OrderBy(b => b.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(domain);
                writer.WriteString("endpoint", RedactUrl(endpoint.Endpoint));
                WriteDuration(writer, "refresh_interval", endpoint.RefreshInterval);
                WriteDuration(writer, "max_stale", endpoint.MaxStale);
                WriteDuration(writer, "fetch_timeout", endpoint.FetchTimeout);
                WriteOptional(writer, "endpoint_ca", endpoint.EndpointCa);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("tls");
        }

        writer.WriteBoolean("trust_forwarded_client_cert", listener.TrustForwardedClientCert);
        writer.WriteBoolean("include_error_details", listener.IncludeErrorDetails);
        writer.WriteBoolean("strip_untrusted_headers", listener.StripUntrustedHeaders);
        writer.WriteString("headers_with_underscores", listener.HeadersWithUnderscores switch
        {
            UnderscoreHeaderAction.Reject => "reject",
            UnderscoreHeaderAction.Allow => "allow",
            _ => "drop",
        });
        WriteStrings(writer, "routes", listener.Routes);
        writer.WriteStartObject("ext_authz");
        writer.WriteString("path_prefix", listener.ExtAuthz.PathPrefix);
        writer.WriteNumber("max_receive_message_bytes", listener.ExtAuthz.MaxReceiveMessageBytes);
        writer.WriteBoolean("include_error_details", listener.ExtAuthz.IncludeErrorDetails);
        writer.WriteNumber("status_on_unavailable", listener.ExtAuthz.StatusOnUnavailable);
        writer.WriteBoolean("reflection", listener.ExtAuthz.Reflection);
        writer.WriteEndObject();
        // Note: the effective DPoP settings (defaults included) of every listener that receives tokens.
        if (listener.Mode is ListenerMode.Admin or ListenerMode.Outbound or ListenerMode.TxnTokenService)
        {
            writer.WriteNull("dpop");
        }
        else
        {
            var dpop = listener.Dpop ?? new DpopConfig();
            writer.WriteStartObject("dpop");
            WriteStrings(writer, "algorithms", dpop.Algorithms);
            WriteDuration(writer, "max_age", dpop.MaxAge);
            WriteDuration(writer, "clock_skew", dpop.ClockSkew);
            writer.WriteBoolean("nonce", dpop.Nonce);
            WriteDuration(writer, "nonce_rotation", dpop.NonceRotation);
            WriteStrings(writer, "origins", dpop.Origins);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static void WriteTxnTokens(Utf8JsonWriter writer, TxnTokensConfig? txn)
    {
        if (txn is null)
        {
            writer.WriteNull("txn_tokens");
            return;
        }

        writer.WriteStartObject("txn_tokens");
        writer.WriteString("issuer", txn.Issuer);
        writer.WriteString("audience", txn.Audience);
        WriteDuration(writer, "lifetime", txn.Lifetime);
        // Note: both forms are written: signing_key is the key that signs, signing_keys every published key. Paths
        // only, never key material.
        writer.WritePropertyName("signing_key");
        if (txn.SigningKeys.Count > 0)
        {
            WriteTxnKey(writer, txn.ActiveKey, withActive: false);
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteStartArray("signing_keys");
        foreach (var key in txn.SigningKeys)
        {
            WriteTxnKey(writer, key, withActive: true);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("mint_at_gateway", txn.MintAtGateway);
        writer.WriteString("header", txn.Header);
        WriteStrings(writer, "allowed_callers", txn.AllowedCallers);
        WriteStrings(writer, "subject_issuers", txn.SubjectIssuers);
        WriteOptional(writer, "workload", txn.Workload);
        writer.WriteNumber("max_context_bytes", txn.MaxContextBytes);
        WriteDuration(writer, "jwks_max_age", txn.JwksMaxAge);
        writer.WriteEndObject();
    }

    private static void WriteTxnKey(Utf8JsonWriter writer, TxnSigningKeyConfig key, bool withActive)
    {
        writer.WriteStartObject();
        writer.WriteString("file", key.File);
        writer.WriteString("key_id", key.KeyId);
        writer.WriteString("algorithm", key.Algorithm);
        if (withActive)
        {
            writer.WriteBoolean("active", key.Active);
        }

        writer.WriteEndObject();
    }

    private static void WriteRoute(Utf8JsonWriter writer, RouteConfig route)
    {
        writer.WriteStartObject();
        writer.WriteString("name", route.Name);
        writer.WriteStartObject("match");
        WriteStrings(writer, "hosts", route.Match.Hosts);
        writer.WriteString("path_prefix", route.Match.PathPrefix);
        writer.WriteEndObject();
        WriteOptional(writer, "upstream", RedactUrl(route.Upstream));
        var authentication = route.Authentication;
        writer.WriteStartObject("authentication");
        WriteStrings(writer, "issuers", authentication.Issuers);
        writer.WriteBoolean("require_token", authentication.RequireToken);
        writer.WriteBoolean("forward_authorization", authentication.ForwardAuthorization);
        WriteStrings(writer, "required_scopes", authentication.RequiredScopes);
        writer.WriteBoolean("require_bound_tokens", authentication.RequireBoundTokens);
        writer.WriteBoolean("require_dpop", authentication.RequireDpop);
        writer.WriteNumber("max_delegation_depth", authentication.MaxDelegationDepth ?? Model.ActorChain.MaxParseDepth);
        writer.WriteEndObject();
        WriteStrings(writer, "policies", route.Policies);
        writer.WriteStartObject("claim_headers");
        foreach (var (header, claim) in route.ClaimHeaders.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            writer.WriteString(header, claim);
        }

        writer.WriteEndObject();
        WriteDuration(writer, "timeout", route.Timeout);
        if (route.Outbound is { } outbound)
        {
            writer.WriteStartObject("outbound");
            WriteOptional(writer, "client_certificate", outbound.ClientCertificate);
            WriteOptional(writer, "client_key", outbound.ClientKey);
            WriteOptional(writer, "trust_bundle", outbound.TrustBundle);
            WriteOptional(writer, "expected_peer", outbound.ExpectedPeer);
            if (outbound.Token is { } token)
            {
                WriteOutboundToken(writer, token);
            }

            if (outbound.TxnToken is { } txn)
            {
                writer.WriteStartObject("txn_token");
                writer.WriteBoolean("forward", txn.Forward);
                writer.WriteBoolean("replace", txn.Replace);
                WriteStrings(writer, "scopes", txn.Scopes);
                WriteOptional(writer, "audience", txn.Audience);
                WriteOptional(writer, "issuer", txn.Issuer);
                WriteOptional(writer, "token_endpoint", RedactUrl(txn.TokenEndpoint));
                WriteOptional(writer, "token_endpoint_ca", txn.TokenEndpointCa);
                WriteDuration(writer, "timeout", txn.Timeout);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("outbound");
        }

        writer.WriteEndObject();
    }

    // Note: secret and key files are named by path (the contents are never read here); URLs lose their userinfo and query.
    private static void WriteOutboundToken(Utf8JsonWriter writer, OutboundTokenConfig token)
    {
        writer.WriteStartObject("token");
        writer.WriteString("mode", ConfigBinder.ModeName(token.Mode));
        WriteOptional(writer, "issuer", token.Issuer);
        WriteOptional(writer, "token_endpoint", RedactUrl(token.TokenEndpoint));
        WriteOptional(writer, "client_id", token.ClientId);
        writer.WriteString("client_auth", ConfigBinder.ClientAuthName(token.ClientAuth));
        WriteOptional(writer, "client_secret_file", token.ClientSecretFile);
        WriteOptional(writer, "client_key_file", token.ClientKeyFile);
        WriteOptional(writer, "client_key_id", token.ClientKeyId);
        WriteOptional(writer, "client_assertion_audience", token.ClientAssertionAudience);
        WriteStrings(writer, "scopes", token.Scopes);
        WriteOptional(writer, "audience", token.Audience);
        WriteOptional(writer, "resource", RedactUrl(token.Resource));
        writer.WriteString("actor", token.Actor == OutboundActor.ClientCredentials ? "client_credentials" : "none");
        WriteDuration(writer, "refresh_before", token.RefreshBefore);
        WriteDuration(writer, "timeout", token.Timeout);
        writer.WriteNumber("cache_max_entries", token.CacheMaxEntries);
        WriteOptional(writer, "token_endpoint_ca", token.TokenEndpointCa);
        writer.WriteStartObject("circuit_breaker");
        writer.WriteNumber("failure_ratio", token.CircuitBreaker.FailureRatio);
        writer.WriteNumber("minimum_throughput", token.CircuitBreaker.MinimumThroughput);
        WriteDuration(writer, "sampling_duration", token.CircuitBreaker.SamplingDuration);
        WriteDuration(writer, "break_duration", token.CircuitBreaker.BreakDuration);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WritePolicy(Utf8JsonWriter writer, PolicyConfig policy)
    {
        writer.WriteStartObject();
        writer.WriteString("action", ConfigBinder.FormatAction(policy.Action));
        writer.WriteBoolean("dry_run", policy.DryRun);
        writer.WriteBoolean("global", policy.Global);
        writer.WriteStartArray("rules");
        foreach (var rule in policy.Rules)
        {
            writer.WriteStartObject();
            if (rule.From is { } from)
            {
                writer.WriteStartObject("from");
                WriteStrings(writer, "principals", from.Principals);
                WriteStrings(writer, "not_principals", from.NotPrincipals);
                WriteStrings(writer, "namespaces", from.Namespaces);
                WriteStrings(writer, "not_namespaces", from.NotNamespaces);
                WriteStrings(writer, "ip_blocks", from.IpBlocks);
                WriteStrings(writer, "not_ip_blocks", from.NotIpBlocks);
                WriteStrings(writer, "request_principals", from.RequestPrincipals);
                WriteStrings(writer, "not_request_principals", from.NotRequestPrincipals);
                writer.WriteEndObject();
            }

            if (rule.To is { } to)
            {
                writer.WriteStartObject("to");
                WriteStrings(writer, "hosts", to.Hosts);
                WriteStrings(writer, "not_hosts", to.NotHosts);
                WriteStrings(writer, "ports", to.Ports);
                WriteStrings(writer, "not_ports", to.NotPorts);
                WriteStrings(writer, "methods", to.Methods);
                WriteStrings(writer, "not_methods", to.NotMethods);
                WriteStrings(writer, "paths", to.Paths);
                WriteStrings(writer, "not_paths", to.NotPaths);
                writer.WriteEndObject();
            }

            writer.WriteStartObject("when");
            foreach (var condition in rule.When)
            {
                WriteStrings(writer, (condition.Negated ? "not_" : "") + condition.Key, condition.Values);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteDuration(Utf8JsonWriter writer, string name, TimeSpan value) =>
        writer.WriteString(name, ConfigValues.FormatDuration(value));

    /// <summary>Replaces userinfo and query values of a URL with <see cref="Redacted"/>; other strings pass through.</summary>
    internal static string? RedactUrl(string? value)
    {
        if (value is null || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.IsFile
            || (uri.UserInfo.Length == 0 && uri.Query.Length == 0))
        {
            return value;
        }

        var builder = new UriBuilder(uri);
        if (uri.UserInfo.Length > 0)
        {
            builder.UserName = Redacted;
            builder.Password = "";
        }

        if (uri.Query.Length > 1)
        {
            var parts = uri.Query[1..].Split('&');
            for (var i = 0; i < parts.Length; i++)
            {
                var equals = parts[i].IndexOf('=', StringComparison.Ordinal);
                parts[i] = equals < 0 ? parts[i] : parts[i][..(equals + 1)] + Redacted;
            }

            builder.Query = string.Join('&', parts);
        }

        return builder.Uri.AbsoluteUri;
    }
}
