using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.DevCa;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Proxy.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.TxnTokens;

/// <summary>
/// A small mesh on real parts, every process a real Gatehouse on 127.0.0.1:0 with its own config file and audit file:
/// the Txn-Token Service (mTLS, SPIFFE allow-list), the gateway (external token in, Txn-Token minted inline), the
/// orders sidecar (inbound: verifies; outbound: replaces the Txn-Token with a narrower one for payments) and the
/// payments sidecar (inbound: verifies). Between them mTLS with development SPIFFE certificates (one trust domain).
/// Behind the sidecars real apps: orders calls payments through its outbound sidecar, passing the Txn-Token header on.
/// </summary>
public sealed class TxnTokenMesh : IAsyncDisposable
{
    public const string TrustDomain = "shop.example";
    public const string TxnIssuer = "https://txn.shop.example";
    public const string ExternalIssuer = "https://idp.shop.example/";
    public const string GatewayId = "spiffe://shop.example/ns/edge/sa/gateway";
    public const string OrdersId = "spiffe://shop.example/ns/shop/sa/orders";
    public const string PaymentsId = "spiffe://shop.example/ns/shop/sa/payments";

    private readonly List<IAsyncDisposable> _owned = [];

    private TxnTokenMesh(string directory) => Directory = directory;

    public string Directory { get; }
    public DevCertificateAuthority Ca { get; private set; } = null!;
    public string Bundle { get; private set; } = "";
    public ECDsaSecurityKey ExternalKey { get; } = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "ext-1" };
    /// <summary>The Txn-Token signing keys (files the service and the gateway sign with), by kid.</summary>
    public Dictionary<string, ECDsa> TxnKeys { get; } = [];
    public Node Tts { get; private set; } = null!;
    public Node Gateway { get; private set; } = null!;
    public Node Orders { get; private set; } = null!;
    public Node Payments { get; private set; } = null!;
    public RecordingApp OrdersApp { get; private set; } = null!;
    public RecordingApp PaymentsApp { get; private set; } = null!;
    public (string Cert, string Key) TtsSvid { get; private set; }
    public (string Cert, string Key) GatewaySvid { get; private set; }
    public (string Cert, string Key) OrdersSvid { get; private set; }
    public (string Cert, string Key) CatalogSvid { get; private set; }

    public static async Task<TxnTokenMesh> StartAsync()
    {
        var mesh = new TxnTokenMesh(Gatehouse.Testing.TestTemp.CreateDirectory("txn-mesh-"));
        await mesh.InitializeAsync();
        return mesh;
    }

    private async Task InitializeAsync()
    {
        Ca = DevCertificateAuthority.Create(TrustDomain, TimeProvider.System);
        Bundle = Path.Combine(Directory, "bundle.pem");
        await File.WriteAllTextAsync(Bundle, Ca.CertificatePem);
        TtsSvid = Issue("spiffe://shop.example/ns/txn/sa/tts", "tts", ["localhost"]);
        GatewaySvid = Issue(GatewayId, "gateway", ["localhost"]);
        OrdersSvid = Issue(OrdersId, "orders", ["localhost"]);
        CatalogSvid = Issue("spiffe://shop.example/ns/shop/sa/catalog", "catalog", ["localhost"]);
        var paymentsSvid = Issue(PaymentsId, "payments", ["localhost"]);
        WriteTxnKey("txn-1");
        WriteTxnKey("txn-2");
        await File.WriteAllTextAsync(Path.Combine(Directory, "external-jwks.json"), Jwks(ExternalKey));

        Tts = await Node.StartAsync(Directory, "tts", TtsConfig(rotated: false));
        _owned.Add(Tts);
        var jwksUri = $"http://127.0.0.1:{Tts.Server.GetListenerUri("admin").Port}/.well-known/jwks.json";

        PaymentsApp = await RecordingApp.StartAsync(null);
        _owned.Add(PaymentsApp);
        Payments = await Node.StartAsync(Directory, "payments-sidecar", PaymentsConfig(paymentsSvid, jwksUri));
        _owned.Add(Payments);

        var ordersOutbound = new TaskCompletionSource<Uri>();
        OrdersApp = await RecordingApp.StartAsync(async (context, client) =>
        {
            // The orders app calls payments through its outbound sidecar and passes the Txn-Token on (draft §8).
            var operation = context.Request.Headers["x-op"].ToString() is { Length: > 0 } op ? op : "charge";
            using var call = new HttpRequestMessage(HttpMethod.Post, new Uri(await ordersOutbound.Task, "/payments/" + operation));
            call.Headers.Host = "payments.shop.example";
            call.Headers.TryAddWithoutValidation("txn-token", context.Request.Headers["txn-token"].ToString());
            using var answer = await client.SendAsync(call);
            context.Response.StatusCode = (int)answer.StatusCode;
            await context.Response.WriteAsync("payments said " + (int)answer.StatusCode);
        });
        _owned.Add(OrdersApp);
        Orders = await Node.StartAsync(Directory, "orders-sidecar", OrdersConfig(jwksUri, Payments.Server.GetListenerUri("in").Port, Tts.Server.GetListenerUri("tts").Port));
        _owned.Add(Orders);
        ordersOutbound.SetResult(Orders.Server.GetListenerUri("out"));

        Gateway = await Node.StartAsync(Directory, "gateway", GatewayConfig(Orders.Server.GetListenerUri("in").Port, rotated: false));
        _owned.Add(Gateway);
    }

    private string TxnTokensBlock(bool rotated, bool mint) => $$"""
        txn_tokens:
          issuer: {{TxnIssuer}}
          audience: {{TrustDomain}}
          lifetime: 60s
          mint_at_gateway: {{(mint ? "true" : "false")}}
          workload: {{GatewayId}}
          allowed_callers: [{{OrdersId}}]
          subject_issuers: [external]
          signing_keys:
            - { file: txn-1.pem, key_id: txn-1, algorithm: ES256, active: {{(rotated ? "false" : "true")}} }
        {{(rotated ? "    - { file: txn-2.pem, key_id: txn-2, algorithm: ES256, active: true }" : "")}}
        """;

    private string ExternalIssuerBlock() => $$"""
          external: { issuer: "{{ExternalIssuer}}", jwks_file: external-jwks.json, audiences: [shop-api], algorithms: [ES256] }
        """;

    public string TtsConfig(bool rotated) => $$"""
        version: 1
        issuers:
        {{ExternalIssuerBlock()}}
        listeners:
          - name: tts
            mode: txn_token_service
            address: "127.0.0.1:0"
            tls: { certificate: {{TtsSvid.Cert}}, key: {{TtsSvid.Key}}, client_certificate: require, trust_bundles: { {{TrustDomain}}: {{Bundle}} } }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
        {{TxnTokensBlock(rotated, mint: false)}}
        """;

    private string TxnIssuerBlock(string jwksUri) => $$"""
          txn: { kind: txn_token, issuer: "{{TxnIssuer}}", jwks_uri: "{{jwksUri}}", audiences: [{{TrustDomain}}], algorithms: [ES256], clock_skew: 5s, keys: { min_refresh_interval: 0s } }
        """;

    public string PaymentsConfig((string Cert, string Key) svid, string jwksUri) => $$"""
        version: 1
        issuers:
        {{TxnIssuerBlock(jwksUri)}}
        listeners:
          - name: in
            mode: inbound
            address: "127.0.0.1:0"
            include_error_details: true
            tls: { certificate: {{svid.Cert}}, key: {{svid.Key}}, client_certificate: require, trust_bundles: { {{TrustDomain}}: {{Bundle}} } }
        routes:
          - name: payments
            match: { path_prefix: /payments }
            upstream: {{PaymentsApp.Address}}
            authentication: { issuers: [txn] }
            policies: [charge-from-orders-in-checkout]
        policies:
          charge-from-orders-in-checkout:
            action: allow
            rules:
              - from: { principals: ["{{OrdersId}}"] }
                to: { methods: [POST], paths: [/payments/charge] }
                when: { scopes: [payments.charge], "claims.tctx.route": [checkout] }
        """;

    private string OrdersConfig(string jwksUri, int paymentsPort, int ttsPort) => $$"""
        version: 1
        issuers:
        {{TxnIssuerBlock(jwksUri)}}
        listeners:
          - name: in
            mode: inbound
            address: "127.0.0.1:0"
            include_error_details: true
            routes: [orders]
            tls: { certificate: {{OrdersSvid.Cert}}, key: {{OrdersSvid.Key}}, client_certificate: require, trust_bundles: { {{TrustDomain}}: {{Bundle}} } }
          - { name: out, mode: outbound, address: "127.0.0.1:0", include_error_details: true, routes: [to-payments] }
        routes:
          - name: orders
            match: { path_prefix: /orders }
            upstream: {{OrdersApp.Address}}
            authentication: { issuers: [txn] }
            policies: [orders-from-gateway]
          - name: to-payments
            match: { hosts: [payments.shop.example] }
            upstream: https://127.0.0.1:{{paymentsPort}}
            authentication: { issuers: [txn] }
            outbound:
              client_certificate: {{OrdersSvid.Cert}}
              client_key: {{OrdersSvid.Key}}
              trust_bundle: {{Bundle}}
              expected_peer: {{PaymentsId}}
              txn_token:
                replace: true
                scopes: [payments.charge]
                audience: {{TrustDomain}}
                token_endpoint: https://localhost:{{ttsPort}}/token
                token_endpoint_ca: {{Bundle}}
        policies:
          orders-from-gateway:
            action: allow
            rules:
              - from: { principals: ["{{GatewayId}}"] }
                when: { "claims.tctx.route": [checkout] }
        """;

    public string GatewayConfig(int ordersPort, bool rotated) => $$"""
        version: 1
        issuers:
        {{ExternalIssuerBlock()}}
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0", include_error_details: true }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
        routes:
          - name: checkout
            match: { path_prefix: /orders }
            upstream: https://127.0.0.1:{{ordersPort}}
            authentication: { issuers: [external], required_scopes: [orders.write, payments.charge] }
            outbound:
              client_certificate: {{GatewaySvid.Cert}}
              client_key: {{GatewaySvid.Key}}
              trust_bundle: {{Bundle}}
              expected_peer: {{OrdersId}}
        {{TxnTokensBlock(rotated, mint: true)}}
        """;

    /// <summary>An external access token from the IdP the gateway trusts.</summary>
    public string ExternalToken(string scope = "orders.write payments.charge openid") => new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
    {
        TokenType = "at+jwt",
        Claims = new Dictionary<string, object>
        {
            ["iss"] = ExternalIssuer,
            ["aud"] = "shop-api",
            ["sub"] = "user-42",
            ["client_id"] = "web-shop",
            ["scope"] = scope,
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds(),
        },
        SigningCredentials = new SigningCredentials(ExternalKey, SecurityAlgorithms.EcdsaSha256),
    });

    /// <summary>Signs a Txn-Token with <paramref name="key"/> (a service key, or any other to forge one).</summary>
    public static string SignTxn(ECDsa key, string kid, IDictionary<string, object> claims, string typ = "txntoken+jwt") =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = typ,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256),
        });

    public static JsonElement Payload(string jwt) => JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.Split('.')[1])).RootElement.Clone();

    public static JsonElement Header(string jwt) => JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.Split('.')[0])).RootElement.Clone();

    /// <summary>An HTTP client presenting <paramref name="svid"/> and trusting only the mesh CA.</summary>
    public HttpClient MtlsClient((string Cert, string Key) svid)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        var trusted = X509Certificate2.CreateFromPem(Ca.CertificatePem);
        handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(svid.Cert, svid.Key)];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is null)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    private (string Cert, string Key) Issue(string id, string name, IReadOnlyList<string> dns)
    {
        Assert.True(Ca.TryIssueWorkload(SpiffeId.Parse(id), new WorkloadCertificateOptions { DnsNames = dns }, out var issued, out var error), error);
        using (issued)
        {
            Assert.True(DevCertificateFiles.TryWriteWorkload(issued, Path.Combine(Directory, name), out var paths, out error), error);
            return (paths.Certificate, paths.Key);
        }
    }

    private void WriteTxnKey(string kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        TxnKeys[kid] = ec;
        File.WriteAllText(Path.Combine(Directory, kid + ".pem"), ec.ExportPkcs8PrivateKeyPem());
    }

    private static string Jwks(ECDsaSecurityKey key)
    {
        var p = key.ECDsa.ExportParameters(false);
        return JsonSerializer.Serialize(new { keys = new[] { new { kty = "EC", kid = key.KeyId, use = "sig", alg = "ES256", crv = "P-256", x = Base64UrlEncoder.Encode(p.Q.X), y = Base64UrlEncoder.Encode(p.Q.Y) } } });
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        Ca?.Dispose();
        ExternalKey.ECDsa.Dispose();
        foreach (var key in TxnKeys.Values)
        {
            key.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>One Gatehouse process: a config file (watched, as <c>gatehouse run</c>), an audit file named after it.</summary>
    public sealed class Node : IAsyncDisposable
    {
        private Node(string name, string configPath, string auditPath, GatehouseServer server)
        {
            Name = name;
            ConfigPath = configPath;
            AuditPath = auditPath;
            Server = server;
        }

        public string Name { get; }
        public string ConfigPath { get; }
        public string AuditPath { get; }
        public GatehouseServer Server { get; }

        public static async Task<Node> StartAsync(string directory, string name, string yaml, TimeProvider? time = null, bool watch = true)
        {
            var auditPath = Path.Combine(directory, name + ".jsonl");
            var configPath = Path.Combine(directory, name + (time is null ? "" : "-replica") + ".yaml");
            await File.WriteAllTextAsync(configPath, WithAudit(yaml, auditPath, time is null));
            var load = ConfigLoader.LoadFile(configPath);
            Assert.True(load.IsValid, string.Join('\n', load.Errors) + "\n---\n" + yaml);
            var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
            {
                Config = load.Config!,
                ConfigPath = configPath,
                ReferencedFiles = load.ReferencedFiles,
                WatchForChanges = watch,
                WatchInterval = TimeSpan.FromMilliseconds(100),
                TimeProvider = time ?? TimeProvider.System,
                ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
            });
            Assert.True(await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(30)), name + " did not become ready");
            return new Node(name, configPath, auditPath, server);
        }

        private static string WithAudit(string yaml, string auditPath, bool audited) =>
            audited ? yaml + $"\naudit: {{ path: {auditPath} }}\n" : yaml;

        /// <summary>Rewrites the config file (the watcher reloads it).</summary>
        public Task RewriteAsync(string yaml) => File.WriteAllTextAsync(ConfigPath, WithAudit(yaml, AuditPath, audited: true));

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }

    /// <summary>A real app behind a sidecar: records what it received; optionally does more (calls another service).</summary>
    public sealed class RecordingApp : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

        private RecordingApp(WebApplication app) => _app = app;

        public Uri Address { get; private set; } = null!;
        public System.Collections.Concurrent.ConcurrentQueue<IReadOnlyDictionary<string, string>> Received { get; } = new();

        public static async Task<RecordingApp> StartAsync(Func<HttpContext, HttpClient, Task>? behaviour)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var recording = new RecordingApp(app);
            app.Run(async context =>
            {
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var (name, values) in context.Request.Headers)
                {
                    headers[name] = values.ToString();
                }

                recording.Received.Enqueue(headers);
                if (behaviour is null)
                {
                    await context.Response.WriteAsync("ok", Encoding.UTF8);
                }
                else
                {
                    await behaviour(context, recording._client);
                }
            });
            await app.StartAsync();
            recording.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return recording;
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
