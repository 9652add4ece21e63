using System.Net;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Identity;
using Gatehouse.Model;
using Gatehouse.Policy;

namespace Gatehouse.Tests.Policy;

/// <summary>Builders for policy tests: requests, principals and policies in a few lines.</summary>
internal static class PolicyFixtures
{
    public const string Checkout = "spiffe://cluster.local/ns/shop/sa/checkout";
    public const string Billing = "spiffe://cluster.local/ns/billing/sa/invoicer";

    public static PolicyInput Input(
        string method = "GET",
        string path = "/orders/1",
        string host = "api.example.com",
        int port = 443,
        string? workload = Checkout,
        string? ip = "10.1.2.3",
        string[]? scopes = null,
        string[]? roles = null,
        string? claims = null,
        bool token = true,
        Dictionary<string, string>? headers = null)
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
        var claimsElement = JsonDocument.Parse(claims ?? """{"sub":"alice"}""").RootElement;
        var principal = token
            ? new Principal
            {
                Workload = workload,
                Issuer = "https://idp.example.com/",
                IssuerName = "corp",
                Subject = "alice",
                ClientId = "web",
                Scopes = new HashSet<string>(scopes ?? ["orders.read"], StringComparer.Ordinal),
                Roles = new HashSet<string>(roles ?? [], StringComparer.Ordinal),
                Claims = claimsElement,
                Delegation = ActorChain.Parse(claimsElement),
            }
            : new Principal { Workload = workload };
        return new PolicyInput(request, path, principal);
    }

    public static PolicyConfig MakePolicy(string name, PolicyAction action, params PolicyRuleConfig[] rules) =>
        new() { Name = name, Action = action, Rules = rules };

    public static PolicyRuleConfig Rule(FromConfig? from = null, ToConfig? to = null, params WhenConditionConfig[] when) =>
        new() { From = from, To = to, When = when };

    public static WhenConditionConfig When(string key, params string[] values) =>
        new() { Key = key, Values = values };

    public static WhenConditionConfig WhenNot(string key, params string[] values) =>
        new() { Key = key, Values = values, Negated = true };
}
