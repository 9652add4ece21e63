using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.Outbound;
using Gatehouse.Proxy.Tls;
using Gatehouse.Runtime;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Outbound;

/// <summary>
/// The <see cref="OutboundTokenSource"/> of each route with <c>outbound.token</c>. A source (its cached tokens and its
/// circuit breaker) survives a reload that leaves the route's token settings unchanged; compiled routes map to their
/// source through a weak table, so retired snapshots are not kept alive.
/// </summary>
public sealed class OutboundTokenSources : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly OutboundTokenMetrics? _metrics;
    private readonly HttpClient _shared;
    private readonly ConcurrentDictionary<string, OutboundTokenSource> _byKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _keyByRouteName = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<CompiledRoute, OutboundTokenSource> _byRoute = [];
    private readonly ConcurrentDictionary<string, TxnTokenReplacer> _replacersByKey = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<CompiledRoute, TxnTokenReplacer> _replacerByRoute = [];

    public OutboundTokenSources(TimeProvider time, ILoggerFactory loggers, OutboundTokenMetrics? metrics)
    {
        _time = time;
        _loggers = loggers;
        _metrics = metrics;
        _shared = new HttpClient(NewHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _shared.DefaultRequestHeaders.UserAgent.ParseAdd("gatehouse/1.0");
    }

    /// <summary>The source of <paramref name="route"/> (which has <c>outbound.token</c>).</summary>
    public OutboundTokenSource For(CompiledRoute route, GatehouseConfig config)
    {
        if (_byRoute.TryGetValue(route, out var source))
        {
            return source;
        }

        var key = Key(route, config);
        source = _byKey.GetOrAdd(key, _ => Create(route, config));
        _byRoute.AddOrUpdate(route, source);
        // Note: a reload that changed the route's token settings leaves the previous source to requests still on the
        // old snapshot (they hold it through the weak table) and to the garbage collector; it is not disposed under them.
        if (_keyByRouteName.TryGetValue(route.Name, out var previous) && previous != key)
        {
            _byKey.TryRemove(previous, out _);
        }

        _keyByRouteName[route.Name] = key;
        return source;
    }

    /// <summary>
    /// The replacer of <paramref name="route"/> (which has <c>outbound.txn_token.replace</c>): its channel to the
    /// Txn-Token Service presents the route's client certificate (the service knows callers by SPIFFE ID, mTLS) and
    /// trusts <c>token_endpoint_ca</c>; the endpoint comes from <c>token_endpoint</c> or the issuer's RFC 8414 metadata.
    /// </summary>
    public TxnTokenReplacer TxnReplacerFor(CompiledRoute route, GatehouseConfig config)
    {
        if (_replacerByRoute.TryGetValue(route, out var replacer))
        {
            return replacer;
        }

        var outbound = route.Config.Outbound!;
        var txn = outbound.TxnToken!;
        var issuer = txn.Issuer is not null && config.Issuers.TryGetValue(txn.Issuer, out var i) ? i : null;
        var key = string.Join('\n', route.Name, txn.Issuer, issuer?.Issuer, issuer?.DiscoveryUri, txn.TokenEndpoint, txn.TokenEndpointCa,
            string.Join(' ', txn.Scopes), txn.Audience, txn.Timeout.Ticks.ToString(CultureInfo.InvariantCulture), outbound.ClientCertificate, outbound.ClientKey);
        replacer = _replacersByKey.GetOrAdd(key, _ =>
        {
            var logger = _loggers.CreateLogger("Gatehouse.Outbound");
            // Note: the replacement request is an RFC 8693 call like any other: the token endpoint client is reused,
            // authenticated by the channel's certificate (RFC 8705 §2 style), with no client id or secret.
            var clientConfig = new OutboundTokenConfig
            {
                Mode = OutboundTokenMode.Exchange,
                TokenEndpoint = txn.TokenEndpoint,
                TokenEndpointCa = txn.TokenEndpointCa,
                ClientAuth = OutboundClientAuth.TlsClientAuth,
                Timeout = txn.Timeout,
            };
            var discovery = txn.TokenEndpoint is null && issuer is not null ? Gatehouse.Tokens.IssuerRuntime.MetadataUrl(issuer) : null;
            var http = new HttpClient(CreateChannel(route.Name, outbound, clientConfig, logger), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
            var client = new TokenEndpointClient(clientConfig, route.Name, discovery, http, ownsHttp: true, _time, logger);
            var audience = txn.Audience ?? (issuer is { Audiences.Count: > 0 } ? issuer.Audiences[0] : "");
            return new TxnTokenReplacer(route.Name, txn, audience, client, _time, _metrics);
        });
        _replacerByRoute.AddOrUpdate(route, replacer);
        return replacer;
    }

    private OutboundTokenSource Create(CompiledRoute route, GatehouseConfig config)
    {
        var outbound = route.Config.Outbound!;
        var token = outbound.Token!;
        var logger = _loggers.CreateLogger("Gatehouse.Outbound");
        string? discovery = null;
        if (token.TokenEndpoint is null && token.Issuer is not null && config.Issuers.TryGetValue(token.Issuer, out var issuer))
        {
            discovery = issuer.DiscoveryUri ?? issuer.Issuer.TrimEnd('/') + "/.well-known/openid-configuration";
        }

        HttpMessageInvoker http = _shared;
        var owns = false;
        if (token.ClientAuth == OutboundClientAuth.TlsClientAuth || token.TokenEndpointCa is not null)
        {
            http = new HttpClient(CreateChannel(route.Name, outbound, token, logger), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
            owns = true;
        }

        var client = new TokenEndpointClient(token, route.Name, discovery, http, owns, _time, logger);
        return new OutboundTokenSource(route.Name, token, client, _time, _metrics, logger);
    }

    /// <summary>
    /// The channel to the token endpoint: for <c>tls_client_auth</c> (RFC 8705 §2) it presents the route's client
    /// certificate (re-read when the files change); with <c>token_endpoint_ca</c> the endpoint's certificate must chain
    /// to that bundle and match its host name, else the system trust store decides.
    /// </summary>
    private HttpMessageHandler CreateChannel(string route, OutboundConfig outbound, OutboundTokenConfig token, ILogger logger)
    {
        var handler = NewHandler();
        if (token.ClientAuth == OutboundClientAuth.TlsClientAuth && outbound.ClientCertificate is not null && outbound.ClientKey is not null)
        {
            var created = ReloadingFileSource<CertificateMaterial>.Create(
                "token endpoint client certificate of route " + route,
                [outbound.ClientCertificate, outbound.ClientKey],
                () => TlsMaterialLoader.TryLoadCertificate(outbound.ClientCertificate, outbound.ClientKey, out var material, out var error)
                    ? new LoadResult<CertificateMaterial>(material, [])
                    : new LoadResult<CertificateMaterial>(null, [error]),
                _time,
                TimeSpan.FromSeconds(5),
                logger);
            if (!created.Success)
            {
                // Fail closed: tls_client_auth without the certificate would present nothing; the endpoint call fails.
                return new RefusingHandler("client certificate unusable: " + string.Join("; ", created.Errors));
            }

            var source = created.Value!;
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => source.Current.Leaf;
        }

        if (token.TokenEndpointCa is not null)
        {
            var roots = new X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(token.TokenEndpointCa);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                return new RefusingHandler("token_endpoint_ca unusable: " + ex.Message);
            }

            handler.SslOptions.EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.DisableCertificateDownloads = true;
                using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return chain.Build(leaf);
            };
        }

        return handler;
    }

    private static SocketsHttpHandler NewHandler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };

    private static string Key(CompiledRoute route, GatehouseConfig config)
    {
        var outbound = route.Config.Outbound!;
        var t = outbound.Token!;
        var issuer = t.Issuer is not null && config.Issuers.TryGetValue(t.Issuer, out var i) ? i.Issuer + "|" + i.DiscoveryUri : "";
        return string.Join('\n',
            route.Name, t.Mode, t.Issuer, issuer, t.TokenEndpoint, t.ClientId, t.ClientAuth, t.ClientSecretFile, t.ClientKeyFile, t.ClientKeyId,
            t.ClientAssertionAudience, string.Join(' ', t.Scopes), t.Audience, t.Resource, t.Actor,
            t.RefreshBefore.Ticks.ToString(CultureInfo.InvariantCulture), t.Timeout.Ticks.ToString(CultureInfo.InvariantCulture),
            t.CacheMaxEntries.ToString(CultureInfo.InvariantCulture), t.TokenEndpointCa, t.CircuitBreaker.ToString(),
            outbound.ClientCertificate, outbound.ClientKey);
    }

    public void Dispose()
    {
        foreach (var source in _byKey.Values)
        {
            source.Dispose();
        }

        foreach (var replacer in _replacersByKey.Values)
        {
            replacer.Dispose();
        }

        _shared.Dispose();
    }

    private sealed class RefusingHandler(string reason) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(new HttpRequestException(reason));
    }
}
