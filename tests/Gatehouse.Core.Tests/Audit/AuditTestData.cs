using System.Net;
using Gatehouse.Decisions;
using Gatehouse.Identity;
using Gatehouse.Model;

namespace Gatehouse.Tests.Audit;

/// <summary>Requests and decisions for audit tests, carrying secrets that must never reach any output.</summary>
internal static class AuditTestData
{
    // Note: every string here is a credential a careless implementation could copy into the trail.
    public const string Jwt =
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInNlY3JldCI6Imh1bnRlcjIifQ.c2lnbmF0dXJlLW5vdC1yZWFs";
    public const string AuthorizationValue = "Bearer " + Jwt;
    public const string CookieValue = "session=cookie-secret-7f3a9c1e";
    public const string ClientSecret = "client-secret-4d5e6f";
    public const string QueryToken = "query-token-9a8b7c6d";
    public const string Code = "authcode-1a2b3c4d";
    public const string Fingerprint = "0123456789abcdef";
    public const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

    public static IReadOnlyList<string> Secrets { get; } =
        [Jwt, "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0", "c2lnbmF0dXJlLW5vdC1yZWFs", CookieValue, "cookie-secret-7f3a9c1e",
         ClientSecret, QueryToken, Code, "hunter2"];

    public static AuthorizationRequest Request(string path = "/orders/42", string query = "") => new()
    {
        Method = "GET",
        Host = "api.example.com",
        RawPath = path,
        Query = query,
        GetHeader = name => name.ToLowerInvariant() switch
        {
            "authorization" => AuthorizationValue,
            "cookie" => CookieValue,
            "x-client-secret" => ClientSecret,
            "traceparent" => "00-" + TraceId + "-00f067aa0ba902b7-01",
            _ => null,
        },
        SourceAddress = IPAddress.Parse("10.1.2.3"),
        PeerIdentity = "spiffe://cluster.local/ns/shop/sa/checkout",
        Listener = "edge",
        TraceId = TraceId,
    };

    public static Decision Allow(string route = "orders", string client = "checkout-svc") => new()
    {
        Outcome = DecisionOutcome.Allow,
        StatusCode = 200,
        Reasons = [ReasonCodes.PolicyAllowMatched + ":orders-read/rule0"],
        RouteName = route,
        NormalizedPath = "/orders/42",
        DecidingPolicy = "orders-read/rule0",
        Principal = Principal(client),
        Token = Token(),
    };

    public static Decision Deny(string route = "orders", string reason = ReasonCodes.ScopeMissing + ":orders.write", string client = "checkout-svc") => new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = 403,
        Reasons = [reason],
        Challenge = "Bearer error=\"insufficient_scope\"",
        RouteName = route,
        NormalizedPath = "/orders/42",
        DecidingPolicy = "orders-write/rule0",
        Principal = Principal(client),
        Token = Token(),
    };

    public static global::Gatehouse.Model.Principal Principal(string client) => new()
    {
        Workload = "spiffe://cluster.local/ns/shop/sa/checkout",
        Issuer = "https://idp.example.com/",
        IssuerName = "corp",
        Subject = "alice",
        ClientId = client,
        Scopes = new HashSet<string>(StringComparer.Ordinal) { "orders.read", "openid" },
    };

    public static TokenFacts Token() => new()
    {
        Fingerprint = Fingerprint,
        Kid = "k1",
        Jti = "jti-123",
        Issuer = "https://idp.example.com/",
        IssuerName = "corp",
        Algorithm = "RS256",
    };
}
