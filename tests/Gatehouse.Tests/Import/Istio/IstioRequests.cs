using System.Net;
using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Identity;
using Gatehouse.Model;
using Gatehouse.Policy;

namespace Gatehouse.Tests.Import.Istio;

/// <summary>Requests for checking imported policies with Gatehouse's own policy engine.</summary>
internal static class IstioRequests
{
    public const string Checkout = "spiffe://cluster.local/ns/shop/sa/checkout";

    public static PolicyInput Input(
        string method = "GET",
        string path = "/orders/1",
        string host = "api.example.com",
        int port = 443,
        string? workload = Checkout,
        string? ip = "10.1.2.3",
        string[]? scopes = null,
        string? claims = null,
        bool token = true,
        Dictionary<string, string>? headers = null,
        string iss = "https://idp.example.com/",
        string sub = "alice")
    {
        var request = new AuthorizationRequest
        {
            Method = method,
            Host = host,
            Port = port,
            RawPath = path,
            GetHeader = name => headers is not null && headers.TryGetValue(name, out var v) ? v : null,
            SourceAddress = ip is null ? null : IPAddress.Parse(ip),
            PeerIdentity = workload,
        };
        var principal = token
            ? new Principal
            {
                Workload = workload,
                Issuer = iss,
                IssuerName = "corp",
                Subject = sub,
                ClientId = "web",
                Scopes = new HashSet<string>(scopes ?? ["orders.read"], StringComparer.Ordinal),
                Claims = JsonDocument.Parse(claims ?? """{"sub":"alice"}""").RootElement,
            }
            : new Principal { Workload = workload };
        return new PolicyInput(request, path, principal);
    }
}
