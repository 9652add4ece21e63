using Gatehouse.Configuration;
using Gatehouse.Proxy.Tls;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.Hosting;

/// <summary>Configures TLS (and mTLS with SPIFFE trust bundles) on a listener; material reloads from disk.</summary>
internal static class ListenerTls
{
    public static void Configure(ListenOptions listen, ListenerConfig listener, TimeProvider time, IServiceProvider services)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Proxy.Tls");
        var rejections = services.GetRequiredService<HandshakeRejections>();
        var result = TlsListenerConfigurator.TryConfigure(listen, listener.Tls!, logger, time, new TlsListenerOptions
        {
            ListenerName = listener.Name,
            OnRejected = rejections.Report,
            OnBundleFetch = services.GetService<Diagnostics.GatehouseMetrics>() is { } metrics ? metrics.RecordTrustBundleFetch : null,
        });
        if (result.State is null)
        {
            // Startup misconfiguration (the files were readable at check time but do not load): refuse to start.
            throw new InvalidOperationException($"listeners.{listener.Name}.tls: " + string.Join("; ", result.Errors));
        }
        services.GetRequiredService<PeerIdentityResolver>().Register(listener.Name, result.State);
    }
}

/// <summary>
/// Client certificates refused during TLS handshakes. No HTTP request exists for them, so the server turns each into
/// an audit record (status 495/496, as nginx reports certificate errors) and a decision metric.
/// </summary>
internal sealed class HandshakeRejections
{
    public event Action<PeerCertificateRejection>? Rejected;

    public void Report(PeerCertificateRejection rejection) => Rejected?.Invoke(rejection);
}

/// <summary>Creates the upstream handler of routes that originate mTLS (sidecar outbound).</summary>
internal static class OutboundHandlers
{
    public static HttpMessageHandler? Create(Runtime.CompiledRoute route, TimeProvider time, ILogger logger)
    {
        var outbound = route.Config.Outbound;
        if (outbound is null || outbound.ClientCertificate is null)
        {
            return null;
        }
        var result = MtlsClientHandlerFactory.TryCreate(outbound, time, logger);
        // Fail closed: an outbound route whose mTLS material does not load never falls back to plaintext.
        return result.Handler ?? (HttpMessageHandler)new RefusingHandler(string.Join("; ", result.Errors));
    }

    private sealed class RefusingHandler(string reason) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(new HttpRequestException("outbound mTLS unavailable: " + reason));
    }
}
