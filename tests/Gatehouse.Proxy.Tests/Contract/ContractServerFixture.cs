using System.Net;
using System.Text.Json;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Contract;

/// <summary>What a client observes from one host: the same shape for the gateway and both ext_authz protocols.</summary>
/// <param name="Reason">The first reason the host exposes (null when it exposes none, e.g. a forwarded request).</param>
/// <param name="ReasonIsCodeOnly">True when the host only exposes the stable code (the part before ':').</param>
/// <param name="UpstreamPath">Gateway only: the path the upstream received (null when it received nothing).</param>
public sealed record ContractOutcome(bool Allowed, int Status, string? Reason, bool ReasonIsCodeOnly, string? Challenge, string? UpstreamPath)
{
    public override string ToString() => $"{(Allowed ? "allow" : "deny")} {Status} reason={Reason} challenge={Challenge} upstream={UpstreamPath}";
}

[CollectionDefinition(Name)]
public sealed class ContractCollection : ICollectionFixture<ContractServerFixture>
{
    public const string Name = "contract-server";
}

/// <summary>
/// ONE running GatehouseServer with a gateway listener, an ext_authz gRPC listener, an ext_authz HTTP listener and
/// an admin listener, all on the same config and the real decision engine, in front of a recording upstream.
/// </summary>
public sealed class ContractServerFixture : IAsyncLifetime
{
    private readonly Dictionary<TokenKind, string?> _authorization = new();
    private HttpClient? _grpc;

    public GatewayHarness Harness { get; private set; } = null!;

    public static string Config(string upstream, string jwksPath) => $$"""
        version: 1
        issuers:
          corp:
            issuer: {{TestIssuerKeys.Issuer}}
            jwks_file: {{jwksPath}}
            audiences: [{{TestIssuerKeys.Audience}}]
            algorithms: [RS256, ES256]
            clock_skew: 30s
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0", trust_forwarded_client_cert: true, include_error_details: true }
          - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0" }
          - { name: authz, mode: ext_authz_http, address: "127.0.0.1:0", trust_forwarded_client_cert: true }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
        routes:
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: true, required_scopes: [orders.read] }
            policies: [orders-access]
          - name: public
            match: { path_prefix: /public }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
          - name: peer
            match: { path_prefix: /peer }
            upstream: {{upstream}}
            authentication: { issuers: [corp], require_token: false }
            policies: [peer-access]
        policies:
          orders-access:
            action: allow
            rules:
              - to: { methods: [GET, HEAD], paths: ["/orders/*"] }
              - to: { methods: [POST, DELETE], paths: ["/orders/*"] }
                when: { scopes: [orders.write] }
          block-admin:
            action: deny
            global: true
            rules:
              - to: { paths: ["/orders/admin", "/orders/admin/*", "/public/admin", "/public/admin/*"] }
          peer-access:
            action: allow
            rules:
              - from: { principals: ["{{ContractCases.Checkout}}"] }
        """;

    public async Task InitializeAsync()
    {
        Harness = await GatewayHarness.StartAsync(Config);
        var keys = Harness.Keys;
        var now = DateTimeOffset.UtcNow;
        _authorization[TokenKind.None] = null;
        _authorization[TokenKind.Valid] = "Bearer " + keys.Mint();
        _authorization[TokenKind.ValidWithWriteScope] = "Bearer " + keys.Mint("orders.read orders.write");
        _authorization[TokenKind.Expired] = "Bearer " + keys.Mint(overrides: new Dictionary<string, object?>
        {
            ["iat"] = now.AddMinutes(-20).ToUnixTimeSeconds(),
            ["nbf"] = now.AddMinutes(-20).ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(-10).ToUnixTimeSeconds(),
        });
        _authorization[TokenKind.WrongAudience] = "Bearer " + keys.Mint(overrides: new Dictionary<string, object?> { ["aud"] = "billing" });
        _authorization[TokenKind.InsufficientScope] = "Bearer " + keys.Mint("profile");
        _authorization[TokenKind.MalformedBearer] = "Bearer not a token";
        _authorization[TokenKind.BasicScheme] = "Basic dXNlcjpwYXNzd29yZA==";
        _authorization[TokenKind.NotAJwt] = "Bearer abc.def.ghi";
        _grpc = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = Harness.Server.GetListenerUri("grpc"),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(20),
        };
    }

    public async Task DisposeAsync()
    {
        _grpc?.Dispose();
        await Harness.DisposeAsync();
    }

    public string? Authorization(TokenKind kind) => _authorization[kind];

    private List<string> HeaderLines(ContractCase c, string caseId, bool xfcc)
    {
        var lines = new List<string> { "x-case-id: " + caseId };
        if (Authorization(c.Token) is { } authorization)
        {
            lines.Add("Authorization: " + authorization);
        }
        if (xfcc && c.Peer is not null)
        {
            lines.Add("x-forwarded-client-cert: By=spiffe://cluster.local/ns/edge/sa/envoy;URI=" + c.Peer);
        }
        return lines;
    }

    /// <summary>Real HTTP to the gateway listener (raw TCP so the target is sent unaltered).</summary>
    public async Task<ContractOutcome> ViaGatewayAsync(ContractCase c)
    {
        var caseId = Guid.NewGuid().ToString("N");
        var response = await RawHttp.SendAsync(Harness.Server.GetListenerUri("edge"), c.Method, c.Target, headers: HeaderLines(c, caseId, xfcc: true));
        var received = Harness.Upstream.Received.FirstOrDefault(r => r.Headers.TryGetValue("x-case-id", out var id) && id == caseId);
        string? upstreamPath = null;
        if (received is not null)
        {
            var question = received.RawTarget.IndexOf('?', StringComparison.Ordinal);
            upstreamPath = question < 0 ? received.RawTarget : received.RawTarget[..question];
        }
        return new ContractOutcome(
            response.Status == 200 && received is not null,
            response.Status,
            response.Header("x-gatehouse-reason"),
            ReasonIsCodeOnly: false,
            response.Header("WWW-Authenticate"),
            upstreamPath);
    }

    /// <summary>Envoy's HTTP authorization service protocol against the ext_authz_http listener.</summary>
    public async Task<ContractOutcome> ViaExtAuthzHttpAsync(ContractCase c)
    {
        var response = await RawHttp.SendAsync(Harness.Server.GetListenerUri("authz"), c.Method, c.Target, headers: HeaderLines(c, Guid.NewGuid().ToString("N"), xfcc: true));
        string? reason = null;
        if (response.Status != 200)
        {
            using var body = JsonDocument.Parse(response.Body);
            var reasons = body.RootElement.GetProperty("reasons");
            reason = reasons.GetArrayLength() > 0 ? reasons[0].GetString() : null;
        }
        return new ContractOutcome(response.Status == 200, response.Status, reason, ReasonIsCodeOnly: true, response.Header("WWW-Authenticate"), null);
    }

    /// <summary>A real h2c gRPC Check call against the ext_authz_grpc listener, with the CheckRequest Envoy would send.</summary>
    public async Task<ContractOutcome> ViaExtAuthzGrpcAsync(ContractCase c)
    {
        var http = new AttributeContext.Types.HttpRequest
        {
            Id = Guid.NewGuid().ToString("N"),
            Method = c.Method,
            Path = c.Target,
            Host = "api.example.com",
            Scheme = "http",
            Protocol = "HTTP/1.1",
        };
        http.Headers[":authority"] = "api.example.com";
        http.Headers[":method"] = c.Method;
        http.Headers[":path"] = c.Target;
        http.Headers[":scheme"] = "http";
        if (Authorization(c.Token) is { } authorization)
        {
            http.Headers["authorization"] = authorization;
        }
        var source = new AttributeContext.Types.Peer
        {
            Address = new Gatehouse.Proxy.ExtAuthz.Wire.Core.Address
            {
                SocketAddress = new Gatehouse.Proxy.ExtAuthz.Wire.Core.SocketAddress { Address = "127.0.0.1", PortValue = 40000 },
            },
        };
        if (c.Peer is not null)
        {
            source.Principal = c.Peer;
        }
        var check = new CheckRequest { Attributes = new AttributeContext { Source = source, Request = new AttributeContext.Types.Request { Http = http } } };
        var result = await GrpcTestClient.CallAsync(_grpc!, GrpcTestClient.Frame(check));
        Assert.Equal(HttpStatusCode.OK, result.HttpStatus);
        Assert.Equal(0, result.GrpcStatus);
        var response = result.Response!;
        var metadataReasons = response.DynamicMetadata.Fields["gatehouse_reasons"].ListValue.Values.Select(v => v.StringValue).ToList();
        var reason = response.Status.Message.Length > 0 ? response.Status.Message : null;
        Assert.Equal(reason, metadataReasons.FirstOrDefault());
        if (response.Status.Code == 0)
        {
            Assert.NotNull(response.OkResponse);
            return new ContractOutcome(true, 200, reason, false, null, null);
        }
        var denied = response.DeniedResponse;
        Assert.NotNull(denied);
        var challenge = denied.Headers.FirstOrDefault(h => h.Header.Key == "www-authenticate")?.Header.Value;
        return new ContractOutcome(false, (int)denied.Status.Code, reason, false, challenge, null);
    }
}
