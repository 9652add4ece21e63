using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Tls;

/// <summary>
/// The federation bundle endpoints of one listener (<c>tls.trust_bundles.TD: { endpoint: URL, … }</c>): one
/// <see cref="FederatedBundleSource"/> per trust domain, each with its own HTTP client so that an
/// <c>endpoint_ca</c> authenticates only that endpoint. Lives as long as the listener.
/// </summary>
internal sealed class FederatedBundles : IAsyncDisposable
{
    private readonly List<HttpClient> _clients;

    private FederatedBundles(Dictionary<string, FederatedBundleSource> sources, List<HttpClient> clients)
    {
        Sources = sources;
        _clients = clients;
    }

    public IReadOnlyDictionary<string, FederatedBundleSource> Sources { get; }

    public static FederatedBundles Create(TlsConfig tls, TimeProvider time, ILogger logger, out List<string> errors)
    {
        errors = [];
        var sources = new Dictionary<string, FederatedBundleSource>(StringComparer.Ordinal);
        var clients = new List<HttpClient>();
        foreach (var (trustDomain, endpoint) in tls.TrustBundleEndpoints)
        {
            X509Certificate2Collection? endpointRoots = null;
            if (endpoint.EndpointCa is { } caFile && !TrustBundleSet.TryLoadPemBundle(caFile, out endpointRoots, out var error))
            {
                errors.Add($"tls.trust_bundles.{trustDomain}.endpoint_ca: {error}");
                continue;
            }

            var client = CreateClient(endpointRoots, time);
            clients.Add(client);
            sources[trustDomain] = new FederatedBundleSource(trustDomain, endpoint, client, time, logger);
        }

        return new FederatedBundles(sources, clients);
    }

    public void Start()
    {
        foreach (var source in Sources.Values)
        {
            _ = source.StartAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The endpoint is authenticated by TLS (SPIFFE bundle spec §5.2.1, Web PKI): system roots and the host name, or,
    /// with <c>endpoint_ca</c>, only that CA (and still the host name). No redirects: the configured URL is the binding
    /// between the endpoint and the trust domain (§6.1).
    /// </summary>
    private static HttpClient CreateClient(X509Certificate2Collection? endpointRoots, TimeProvider time)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (endpointRoots is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, presented, errors) =>
            {
                if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
                {
                    return false;
                }

                var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(endpointRoots);
                chain.ChainPolicy.DisableCertificateDownloads = true;
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
                chain.ChainPolicy.VerificationTimeIgnored = false;
                if (presented is not null)
                {
                    foreach (var element in presented.ChainElements)
                    {
                        chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                    }
                }

                return chain.Build(leaf);
            };
        }

        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("gatehouse/1.0");
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var source in Sources.Values)
        {
            await source.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }
}
