using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.DevCa;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Tests.TestSupport;
using Gatehouse.Tokens.TxnTokens;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tests.TxnTokenService;

/// <summary>
/// The Txn-Token Service on a real Kestrel listener with real mTLS (development CA, SPIFFE IDs): RFC 8693 requests
/// from allowed and refused callers, malformed requests, subject token validation, replacement, RFC 8414 metadata, the
/// JWKS on the service and admin listeners, and key rotation through a config reload.
/// </summary>
public sealed class TxnTokenServiceTests : IAsyncLifetime
{
    private const string Orders = "spiffe://shop.example/ns/shop/sa/orders";
    private const string Payments = "spiffe://shop.example/ns/shop/sa/payments";
    private readonly string _dir = Gatehouse.Testing.TestTemp.CreateDirectory("tts-");
    private readonly TestIssuerKeys _keys = new();
    private DevCertificateAuthority _ca = null!;
    private GatehouseServer _server = null!;
    private (string Cert, string Key) _service, _orders, _payments, _catalog;
    private string _configPath = "";
    private string _bundle = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _ca = DevCertificateAuthority.Create("shop.example", TimeProvider.System);
        _bundle = Path.Combine(_dir, "bundle.pem");
        await File.WriteAllTextAsync(_bundle, _ca.CertificatePem);
        _service = Issue("spiffe://shop.example/ns/txn/sa/tts", "tts", ["localhost"]);
        _orders = Issue(Orders, "orders", []);
        _payments = Issue(Payments, "payments", []);
        _catalog = Issue("spiffe://shop.example/ns/shop/sa/catalog", "catalog", []);
        WriteKey("txn-1");
        WriteKey("txn-2");
        await File.WriteAllTextAsync(Path.Combine(_dir, "jwks.json"), _keys.JwksJson());
        _configPath = Path.Combine(_dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(_configPath, Config("- { file: txn-1.pem, key_id: txn-1, algorithm: ES256 }"));
        var load = ConfigLoader.LoadFile(_configPath);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        _server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            ConfigPath = _configPath,
            ReferencedFiles = load.ReferencedFiles,
            WatchInterval = TimeSpan.FromMilliseconds(100),
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        });
        Assert.True(await _server.WaitUntilReadyAsync(TimeSpan.FromSeconds(10)));
    }

    private string Config(string keys) => $$"""
        version: 1
        issuers:
          corp:
            issuer: {{TestIssuerKeys.Issuer}}
            jwks_file: jwks.json
            audiences: [orders]
        listeners:
          - name: tts
            mode: txn_token_service
            address: "127.0.0.1:0"
            tls:
              certificate: {{_service.Cert}}
              key: {{_service.Key}}
              client_certificate: require
              trust_bundles: { shop.example: {{_bundle}} }
          - { name: admin, mode: admin, address: "127.0.0.1:0" }
        txn_tokens:
          issuer: https://txn.shop.example
          audience: shop.example
          lifetime: 60s
          signing_keys:
            {{keys}}
          allowed_callers: [{{Orders}}, {{Payments}}]
        audit: { path: audit.jsonl }
        """;

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _ca.Dispose();
        _keys.Dispose();
    }

    private void WriteKey(string kid)
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(Path.Combine(_dir, kid + ".pem"), ec.ExportPkcs8PrivateKeyPem());
    }

    private (string Cert, string Key) Issue(string id, string name, IReadOnlyList<string> dns)
    {
        Assert.True(_ca.TryIssueWorkload(SpiffeId.Parse(id), new WorkloadCertificateOptions { DnsNames = dns }, out var issued, out var error), error);
        using (issued)
        {
            Assert.True(DevCertificateFiles.TryWriteWorkload(issued, Path.Combine(_dir, name), out var paths, out error), error);
            return (paths.Certificate, paths.Key);
        }
    }

    private HttpClient Client((string Cert, string Key)? identity)
    {
        var handler = new SocketsHttpHandler { UseProxy = false };
        var trusted = X509Certificate2.CreateFromPem(_ca.CertificatePem);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        if (identity is { } id)
        {
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(id.Cert, id.Key)];
        }
        return new HttpClient(handler) { BaseAddress = new Uri("https://localhost:" + _server.GetListenerUri("tts").Port), Timeout = TimeSpan.FromSeconds(10) };
    }

    private static Dictionary<string, string> Exchange(string subjectToken, string scope = "orders.read", string? subjectType = null) => new()
    {
        ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
        ["requested_token_type"] = "urn:ietf:params:oauth:token-type:txn_token",
        ["audience"] = "shop.example",
        ["scope"] = scope,
        ["subject_token"] = subjectToken,
        ["subject_token_type"] = subjectType ?? "urn:ietf:params:oauth:token-type:access_token",
        ["request_context"] = """{"req_ip":"203.0.113.9","authn":"face"}""",
        ["request_details"] = """{"action":"BUY","ticker":"MSFT","quantity":"100"}""",
    };

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(IEnumerable<KeyValuePair<string, string>> form, (string, string)? caller = null)
    {
        using var client = Client(caller ?? _orders);
        var response = await client.PostAsync("/token", new FormUrlEncodedContent(form));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response.StatusCode, body, response);
    }

    private static JsonElement Part(string token, int index) =>
        JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[index])).RootElement.Clone();

    private async Task<JsonWebKeySet> JwksAsync(Uri? admin = null)
    {
        if (admin is not null)
        {
            using var plain = new HttpClient();
            return new JsonWebKeySet(await plain.GetStringAsync(new Uri(admin, "/.well-known/jwks.json")));
        }
        using var client = Client(_orders);
        return new JsonWebKeySet(await client.GetStringAsync("/.well-known/jwks.json"));
    }

    private static async Task<bool> VerifiesAsync(string token, JsonWebKeySet jwks) =>
        (await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = "https://txn.shop.example",
            ValidAudience = "shop.example",
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidTypes = ["txntoken+jwt"],
        })).IsValid;

    [Fact]
    public async Task AllowedCaller_GetsATxnToken_AsTheDraftSpecifies()
    {
        var (status, body, response) = await PostAsync(Exchange(_keys.Mint("orders.read orders.write")));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("N_A", body.GetProperty("token_type").GetString());
        Assert.Equal("urn:ietf:params:oauth:token-type:txn_token", body.GetProperty("issued_token_type").GetString());
        Assert.False(body.TryGetProperty("refresh_token", out _));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var token = body.GetProperty("access_token").GetString()!;
        var header = Part(token, 0);
        Assert.Equal(("txntoken+jwt", "ES256", "txn-1"), (header.GetProperty("typ").GetString(), header.GetProperty("alg").GetString(), header.GetProperty("kid").GetString()));
        var claims = Part(token, 1);
        Assert.Equal("shop.example", claims.GetProperty("aud").GetString());
        Assert.Equal("checkout", claims.GetProperty("sub").GetString());
        Assert.Equal("orders.read", claims.GetProperty("scope").GetString());
        Assert.Equal(Orders, claims.GetProperty("req_wl").GetString());
        Assert.Equal("203.0.113.9", claims.GetProperty("rctx").GetProperty("req_ip").GetString());
        Assert.Equal("MSFT", claims.GetProperty("tctx").GetProperty("ticker").GetString());
        Assert.Equal(60, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        Assert.True(await VerifiesAsync(token, await JwksAsync()));

        // The audit has the issued token's fingerprint, kid and jti — never a token.
        await _server.FlushAuditAsync();
        var audit = await File.ReadAllTextAsync(Path.Combine(_dir, "audit.jsonl"));
        Assert.Contains("txn_token.issued:exchange", audit, StringComparison.Ordinal);
        Assert.Contains(claims.GetProperty("jti").GetString()!, audit, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallerNotInAllowedCallers_IsRefusedWithInvalidClient()
    {
        var (status, body, _) = await PostAsync(Exchange(_keys.Mint()), _catalog);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task CallerWithoutACertificate_NeverCompletesTheHandshake()
    {
        using var client = Client(null);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync("/token", new FormUrlEncodedContent(Exchange(_keys.Mint()))));
    }

    public static TheoryData<string, string, string?> MalformedRequests() => new()
    {
        { "missing scope", "invalid_request", "scope" },
        { "wrong grant_type", "unsupported_grant_type", "grant_type" },
        { "wrong requested_token_type", "invalid_request", "requested_token_type" },
        { "wrong audience", "invalid_target", "audience" },
        { "refresh token subject", "invalid_request", "subject_token_type" },
        { "self-signed subject", "invalid_request", "subject_token_type" },
        { "request_context not JSON", "invalid_request", "request_context" },
        { "request_details an array", "invalid_request", "request_details" },
        { "request_context too large", "invalid_request", "request_context" },
        { "repeated parameter", "invalid_request", null },
        { "scope with a quote", "invalid_scope", "scope" },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task MalformedRequests_AreRefusedWithRfc6749Errors(string what, string error, string? parameter)
    {
        var form = Exchange(_keys.Mint()).ToList();
        void Set(string name, string value) => form[form.FindIndex(p => p.Key == name)] = new(name, value);
        switch (what)
        {
            case "missing scope": form.RemoveAll(p => p.Key == "scope"); break;
            case "wrong grant_type": Set("grant_type", "client_credentials"); break;
            case "wrong requested_token_type": Set("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"); break;
            case "wrong audience": Set("audience", "other.example"); break;
            case "refresh token subject": Set("subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"); break;
            case "self-signed subject": Set("subject_token_type", "urn:ietf:params:oauth:token-type:self_signed"); break;
            case "request_context not JSON": Set("request_context", "{req_ip:"); break;
            case "request_details an array": Set("request_details", "[1,2]"); break;
            case "request_context too large": Set("request_context", "{\"pad\":\"" + new string('x', 5000) + "\"}"); break;
            case "repeated parameter": form.Add(new("scope", "orders.write")); break;
            case "scope with a quote": Set("scope", "orders\"read"); break;
        }

        var (status, body, _) = await PostAsync(form);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(error, body.GetProperty("error").GetString());
        Assert.False(body.TryGetProperty("access_token", out var _));
        if (parameter is not null)
        {
            // The description names what was wrong.
            Assert.Contains(parameter, body.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NonFormBody_IsRefused()
    {
        using var client = Client(_orders);
        using var response = await client.PostAsync("/token", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("wrong audience")]
    [InlineData("forged signature")]
    [InlineData("no scope")]
    [InlineData("scope wider than the subject's")]
    public async Task InvalidSubjectTokens_AreRefused(string what)
    {
        var (subject, scope, error) = what switch
        {
            "expired" => (_keys.Mint(lifetime: TimeSpan.FromMinutes(-5)), "orders.read", "invalid_request"),
            "wrong audience" => (_keys.Mint(overrides: new Dictionary<string, object?> { ["aud"] = "billing" }), "orders.read", "invalid_request"),
            "forged signature" => (_keys.Mint()[..^4] + "AAAA", "orders.read", "invalid_request"),
            "no scope" => (_keys.Mint(overrides: new Dictionary<string, object?> { ["scope"] = null }), "orders.read", "invalid_scope"),
            _ => (_keys.Mint("orders.read"), "orders.read orders.write", "invalid_scope"),
        };

        var (status, body, _) = await PostAsync(Exchange(subject, scope));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(error, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Replacement_NarrowsScope_KeepsTheTransaction_AndNeverWidens()
    {
        var (_, first, _) = await PostAsync(Exchange(_keys.Mint("orders.read orders.write"), "orders.read orders.write"));
        var original = first.GetProperty("access_token").GetString()!;
        var replace = new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["requested_token_type"] = "urn:ietf:params:oauth:token-type:txn_token",
            ["audience"] = "shop.example",
            ["scope"] = "orders.read",
            ["subject_token"] = original,
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:txn_token",
        };

        var (status, narrowed, _) = await PostAsync(replace, _payments);
        replace["scope"] = "orders.read orders.admin";
        var (widenStatus, widened, _) = await PostAsync(replace, _payments);

        Assert.Equal(HttpStatusCode.OK, status);
        var before = Part(original, 1);
        var after = Part(narrowed.GetProperty("access_token").GetString()!, 1);
        Assert.Equal(before.GetProperty("txn").GetString(), after.GetProperty("txn").GetString());
        Assert.Equal(before.GetProperty("sub").GetString(), after.GetProperty("sub").GetString());
        Assert.Equal("orders.read", after.GetProperty("scope").GetString());
        Assert.Equal(Orders + "," + Payments, after.GetProperty("req_wl").GetString());
        Assert.True(after.GetProperty("exp").GetInt64() <= before.GetProperty("exp").GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, widenStatus);
        Assert.Equal("invalid_scope", widened.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Metadata_DescribesTheService()
    {
        using var client = Client(_orders);
        var metadata = JsonDocument.Parse(await client.GetStringAsync("/.well-known/oauth-authorization-server")).RootElement;

        Assert.Equal("https://txn.shop.example", metadata.GetProperty("issuer").GetString());
        Assert.Equal("https://txn.shop.example/token", metadata.GetProperty("token_endpoint").GetString());
        Assert.Equal("https://txn.shop.example/.well-known/jwks.json", metadata.GetProperty("jwks_uri").GetString());
        Assert.Equal(["urn:ietf:params:oauth:grant-type:token-exchange"], metadata.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["tls_client_auth"], metadata.GetProperty("token_endpoint_auth_methods_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Jwks_IsPublic_Cacheable_AndTheSameOnTheAdminListener()
    {
        using var client = Client(_orders);
        using var response = await client.GetAsync("/.well-known/jwks.json");
        var text = await response.Content.ReadAsStringAsync();
        using var admin = new HttpClient();
        using var adminResponse = await admin.GetAsync(new Uri(_server.GetListenerUri("admin"), "/.well-known/jwks.json"));

        Assert.Equal("application/jwk-set+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("public, max-age=300", response.Headers.CacheControl?.ToString());
        var key = JsonDocument.Parse(text).RootElement.GetProperty("keys").EnumerateArray().Single();
        Assert.Equal(["kty", "crv", "x", "y", "use", "alg", "kid"], key.EnumerateObject().Select(p => p.Name));
        Assert.Equal("txn-1", key.GetProperty("kid").GetString());
        Assert.Equal(text, await adminResponse.Content.ReadAsStringAsync());
        Assert.Equal("public, max-age=300", adminResponse.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task KeyRotation_NewKeySigns_TheJwksHoldsBoth_AndABadKeyFileKeepsTheLastGoodConfig()
    {
        var (_, before, _) = await PostAsync(Exchange(_keys.Mint()));
        var oldToken = before.GetProperty("access_token").GetString()!;
        var revision = _server.Snapshots.Current.Revision;

        await File.WriteAllTextAsync(_configPath, Config("""
            - { file: txn-2.pem, key_id: txn-2, active: true }
                - { file: txn-1.pem, key_id: txn-1 }
            """));
        await WaitForAsync(() => _server.Snapshots.Current.Revision > revision);

        var (_, after, _) = await PostAsync(Exchange(_keys.Mint()));
        var newToken = after.GetProperty("access_token").GetString()!;
        var jwks = await JwksAsync(_server.GetListenerUri("admin"));
        Assert.Equal("txn-2", Part(newToken, 0).GetProperty("kid").GetString());
        Assert.Equal(["txn-2", "txn-1"], jwks.Keys.Select(k => k.Kid));
        Assert.True(await VerifiesAsync(oldToken, jwks));
        Assert.True(await VerifiesAsync(newToken, jwks));

        // A rotated file that holds no usable key: the reload is refused, the last good keys keep signing.
        var good = _server.Snapshots.Current.Revision;
        var failures = _server.ReloadStatus!.Failures;
        await File.WriteAllTextAsync(Path.Combine(_dir, "txn-2.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        await WaitForAsync(() => _server.ReloadStatus!.Failures > failures);
        var (status, still, _) = await PostAsync(Exchange(_keys.Mint()));

        Assert.Equal(good, _server.Snapshots.Current.Revision);
        Assert.Contains(_server.ReloadStatus!.LastErrors, e => e.Contains("txn_tokens.signing_keys[0].file", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(await VerifiesAsync(still.GetProperty("access_token").GetString()!, jwks));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
