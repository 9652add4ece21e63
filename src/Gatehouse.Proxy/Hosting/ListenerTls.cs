using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gatehouse.Proxy.Hosting;

/// <summary>Configures TLS (and mTLS) on a listener.</summary>
internal static class ListenerTls
{
    public static void Configure(ListenOptions listen, ListenerConfig listener, TimeProvider time)
    {
        _ = time;
        var tls = listener.Tls!;
        var certificate = X509Certificate2.CreateFromPemFile(tls.Certificate, tls.Key);
        listen.UseHttps(certificate);
    }
}

/// <summary>Creates the upstream handler of routes that originate mTLS (sidecar outbound).</summary>
internal static class OutboundHandlers
{
    public static HttpMessageHandler? Create(Runtime.CompiledRoute route, TimeProvider time)
    {
        _ = route;
        _ = time;
        return null;
    }
}
