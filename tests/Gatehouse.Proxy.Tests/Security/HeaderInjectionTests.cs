using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Gatehouse.Configuration;
using Gatehouse.Http;
using Gatehouse.Identity.Certificates;
using Gatehouse.Model;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Security;

/// <summary>
/// Header injection through values Gatehouse writes (issue: a client certificate from a trusted CA, with a valid
/// SPIFFE ID, whose subject held CR/LF, reached the upstream as an injected header and a second, smuggled request).
/// Real Kestrel with real mTLS in front of a raw-socket upstream that records the bytes exactly as they arrive.
/// </summary>
public sealed class HeaderInjectionTests : IAsyncLifetime
{
    private const string TrustDomain = "cluster.local";
    private const string Smuggled = "\r\n\r\nGET /mesh/admin HTTP/1.1\r\nHost: mesh\r\nX-Smuggled: yes\r\n\r\n";

    private readonly string _dir = Gatehouse.Testing.TestTemp.CreateDirectory("inject-");
    private ECDsa _caKey = null!;
    private X509Certificate2 _ca = null!;
    private RawUpstream _upstream = null!;
    private GatehouseServer? _server;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        // A CA made with .NET's CertificateRequest (not the dev CA), trusted for the trust domain.
        _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Injection Test CA", _caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        _ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        _upstream = RawUpstream.Start();

        var bundle = Write("bundle.pem", _ca.ExportCertificatePem());
        var (serverCert, serverKey) = WriteIssued("server", Issue("spiffe://cluster.local/ns/shop/sa/orders-sidecar", Subject(cn: "orders-sidecar"), dns: "localhost"));
        var config = Write("gatehouse.yaml", $$"""
            version: 1
            listeners:
              - name: inbound
                mode: inbound
                address: "127.0.0.1:0"
                tls:
                  certificate: {{serverCert}}
                  key: {{serverKey}}
                  client_certificate: require
                  trust_bundles: { {{TrustDomain}}: {{bundle}} }
            routes:
              - name: orders
                match: { path_prefix: /orders }
                upstream: {{_upstream.Address}}
                authentication: { require_token: false }
            """);
        var load = ConfigLoader.LoadFile(config);
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors));
        _server = await GatehouseServer.StartAsync(new GatehouseServerOptions
        {
            Config = load.Config!,
            WatchForChanges = false,
            ConfigureLogging = logging => logging.SetMinimumLevel(LogLevel.Warning),
        });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        await _upstream.DisposeAsync();
        _ca.Dispose();
        _caKey.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData("crlf-in-cn", "checkout\r\nX-Injected: yes", "shop")]
    [InlineData("request-in-cn", "checkout" + Smuggled, "shop")]
    [InlineData("request-in-ou", "checkout", "shop" + Smuggled)]
    [InlineData("nul-and-lf", "check\0out\nX-Injected: yes", "sh\rop")]
    public async Task CertificateSubjectWithCrLf_NeverSplitsTheUpstreamRequest(string name, string cn, string ou)
    {
        _ = name;
        using var client = Client(Issue("spiffe://cluster.local/ns/shop/sa/checkout", Subject(cn, ou)));

        using var response = await client.GetAsync(new Uri(_server!.GetListenerUri("inbound"), "/orders/1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _server.DisposeAsync(); // closes the upstream connections: everything sent has now been received
        _server = null;
        await _upstream.DrainAsync();

        var head = Assert.Single(_upstream.Heads);
        Assert.StartsWith("GET /orders/1 HTTP/1.1\r\n", head, StringComparison.Ordinal);
        // The smuggled text may be there, but only percent-encoded inside the XFCC value: never a line of its own.
        Assert.DoesNotContain(head.Split("\r\n").Skip(1), line => line.StartsWith("GET ", StringComparison.Ordinal));
        Assert.DoesNotContain('\n', head.Replace("\r\n", "", StringComparison.Ordinal));
        var lines = RawUpstream.HeaderLines(head);
        Assert.DoesNotContain(lines, l => l.Key.StartsWith("X-Injected", StringComparison.OrdinalIgnoreCase) || l.Key.StartsWith("X-Smuggled", StringComparison.OrdinalIgnoreCase));
        foreach (var (key, value) in lines)
        {
            Assert.True(HeaderValues.IsSafe(key + value), $"control character in {key}: {value}");
        }

        // The subject is still there, percent-encoded inside the quoted XFCC value, and reads back exactly.
        var xfcc = Assert.Single(lines, l => l.Key.Equals("x-forwarded-client-cert", StringComparison.OrdinalIgnoreCase)).Value;
        var element = Assert.Single(Xfcc.Parse(xfcc).Elements);
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/checkout", element.Uri);
        Assert.Contains("%0", element.Subject, StringComparison.Ordinal);
        Assert.Contains(cn, HeaderValues.Decode(element.Subject!), StringComparison.Ordinal);
    }

    // Property: random bytes in the subject's CN and OU of a trusted, valid SVID never put a control character into
    // any header the upstream receives, and never a second request.
    [Fact]
    public async Task Property_RandomSubjects_NeverReachTheUpstreamAsControlCharacters()
    {
        var random = new Random(1206);
        var target = new Uri(_server!.GetListenerUri("inbound"), "/orders/p");
        const int Cases = 12;
        for (var i = 0; i < Cases; i++)
        {
            using var client = Client(Issue("spiffe://cluster.local/ns/shop/sa/checkout", Subject(RandomUtf8(random), RandomUtf8(random))));
            using var response = await client.GetAsync(target);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await _server.DisposeAsync();
        _server = null;
        await _upstream.DrainAsync();

        Assert.Equal(Cases, _upstream.Heads.Count);
        foreach (var head in _upstream.Heads)
        {
            Assert.StartsWith("GET /orders/p HTTP/1.1\r\n", head, StringComparison.Ordinal);
            foreach (var (key, value) in RawUpstream.HeaderLines(head))
            {
                Assert.True(HeaderValues.IsSafe(key + value), $"control character in {key}: {value}");
            }
        }
    }

    // Random bytes, decoded as UTF-8 the way a certificate's UTF8String would be: controls, CR/LF, NUL and
    // non-ASCII all occur.
    private static string RandomUtf8(Random random)
    {
        var bytes = new byte[random.Next(1, 40)];
        random.NextBytes(bytes);
        for (var i = 0; i < bytes.Length; i += 5)
        {
            bytes[i] = (byte)"\r\n\0\"=,;\\%"[random.Next(9)];
        }
        return Encoding.UTF8.GetString(bytes);
    }

    private static X500DistinguishedName Subject(string cn, string? ou = null)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("Gatehouse Tests");
        if (ou is not null)
        {
            builder.AddOrganizationalUnitName(ou);
        }
        builder.AddCommonName(cn);
        return builder.Build();
    }

    private X509Certificate2 Issue(string spiffeId, X500DistinguishedName subject, string? dns = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        if (dns is not null)
        {
            san.AddDnsName(dns);
        }
        request.CertificateExtensions.Add(san.Build(critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var issued = request.Create(_ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1), serial);
        return issued.CopyWithPrivateKey(key);
    }

    private (string Cert, string Key) WriteIssued(string name, X509Certificate2 certificate)
    {
        using (certificate)
        {
            using var key = certificate.GetECDsaPrivateKey()!;
            return (Write(name + ".pem", certificate.ExportCertificatePem()), Write(name + "_key.pem", key.ExportPkcs8PrivateKeyPem()));
        }
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static HttpClient Client(X509Certificate2 certificate)
    {
        // Note: the key is ephemeral; on Linux SslStream uses it directly, so no PFX round-trip is needed.
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificates = [certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true, // the test client does not authenticate the test server
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
    }
}

/// <summary>
/// One test per header Gatehouse writes: claim headers through the real gateway (raw-socket upstream), and the
/// writers themselves (ForwardingTransformer, DenialWriter) for the trace context, XFCC, X-Forwarded-* and the reason.
/// </summary>
public sealed class HeaderValueWriterTests
{
    private const string Hostile = "alice\r\nX-Injected: yes\r\n\r\nGET /mesh/admin HTTP/1.1\r\nHost: mesh\r\n\r\n";

    [Fact]
    public async Task ClaimHeader_WithCrLfInTheClaim_IsPercentEncoded_AndTheUpstreamSeesOneRequest()
    {
        await using var raw = RawUpstream.Start();
        var harness = await GatewayHarness.StartAsync((_, jwks) => GatewayHarness.DefaultConfig(raw.Address, jwks));
        try
        {
            var token = harness.Keys.Mint(overrides: new Dictionary<string, object?> { ["sub"] = Hostile });
            using var response = await harness.GetAsync("/orders/1", token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            await harness.DisposeAsync();
        }
        await raw.DrainAsync();

        var head = Assert.Single(raw.Heads);
        var lines = RawUpstream.HeaderLines(head);
        Assert.DoesNotContain(lines, l => l.Key.Equals("X-Injected", StringComparison.OrdinalIgnoreCase));
        var subject = Assert.Single(lines, l => l.Key.Equals("x-auth-subject", StringComparison.OrdinalIgnoreCase)).Value;
        Assert.Equal("alice%0D%0AX-Injected: yes%0D%0A%0D%0AGET /mesh/admin HTTP/1.1%0D%0AHost: mesh%0D%0A%0D%0A", subject);
        Assert.Equal(Hostile, HeaderValues.Decode(subject));
    }

    // Property: random bytes in claims (sub and a scope list) never reach the upstream as a control character, and
    // every request stays one request.
    [Fact]
    public async Task Property_RandomClaims_NeverReachTheUpstreamAsControlCharacters()
    {
        await using var raw = RawUpstream.Start();
        var harness = await GatewayHarness.StartAsync((_, jwks) => GatewayHarness.DefaultConfig(raw.Address, jwks));
        var random = new Random(6);
        const int Cases = 25;
        try
        {
            for (var i = 0; i < Cases; i++)
            {
                var bytes = new byte[random.Next(1, 48)];
                random.NextBytes(bytes);
                bytes[0] = (byte)'\n';
                var token = harness.Keys.Mint(
                    scope: "orders.read " + Encoding.UTF8.GetString(bytes).Replace(' ', '_'),
                    overrides: new Dictionary<string, object?> { ["sub"] = Encoding.UTF8.GetString(bytes) + "\r\n" });
                using var response = await harness.GetAsync("/orders/p", token);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        finally
        {
            await harness.DisposeAsync();
        }
        await raw.DrainAsync();

        Assert.Equal(Cases, raw.Heads.Count);
        foreach (var head in raw.Heads)
        {
            Assert.StartsWith("GET /orders/p HTTP/1.1\r\n", head, StringComparison.Ordinal);
            foreach (var (key, value) in RawUpstream.HeaderLines(head))
            {
                Assert.True(HeaderValues.IsSafe(key + value), $"control character in {key}: {value}");
            }
        }
    }

    [Fact]
    public void ForwardingWriter_DropsAnUnsafeTraceState_AndAnyUnsafeValue_WritesTheSafeOnes()
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Scheme = "https";
        context.Request.Host = new Microsoft.AspNetCore.Http.HostString("api.example.com");
        context.Connection.RemoteIpAddress = IPAddress.Loopback;
        context.Features.Set(new Gatehouse.Proxy.Gateway.ForwardingFeature
        {
            Decision = new Gatehouse.Model.Decision
            {
                Outcome = Gatehouse.Model.DecisionOutcome.Allow,
                StatusCode = 200,
                Reasons = [],
                NormalizedPath = "/orders/1",
                UpstreamHeaders = [new("x-good", "alice"), new("x-raw", "bad\r\nX-Injected: yes")],
            },
            Query = "",
            ForwardedClientCert = "URI=spiffe://td/a\r\nX-Injected: yes",
            Trace = new Gatehouse.Proxy.Gateway.TraceContext(
                "0af7651916cd43dd8448eb211c80319c",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "vendor=value\r\nX-Injected: yes"),
        });
        using var upstream = new HttpRequestMessage();

        Gatehouse.Proxy.Gateway.UpstreamHeaderWriter.Write(context, upstream.Headers, context.Features.Get<Gatehouse.Proxy.Gateway.ForwardingFeature>()!);

        var headers = upstream.Headers.NonValidated.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("alice", headers["x-good"]);
        Assert.False(headers.ContainsKey("x-raw"));
        Assert.False(headers.ContainsKey("tracestate"));
        Assert.False(headers.ContainsKey("x-forwarded-client-cert"));
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", headers["traceparent"]);
        Assert.Equal("api.example.com", headers["x-forwarded-host"]);
        Assert.Equal("127.0.0.1", headers["x-forwarded-for"]);
        Assert.All(headers, h => Assert.True(HeaderValues.IsSafe(h.Value), h.Key));
    }

    [Fact]
    public async Task ReasonHeader_PercentEncodesADetailTakenFromInput()
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Method = "GET";
        context.Response.Body = new MemoryStream();
        var decision = new Gatehouse.Model.Decision
        {
            Outcome = Gatehouse.Model.DecisionOutcome.Deny,
            StatusCode = 403,
            Reasons = ["peer.certificate_invalid:evil\r\nX-Injected: yes"],
            Challenge = "Bearer realm=\"gatehouse\"\r\nX-Injected: yes",
        };

        await Gatehouse.Proxy.Gateway.DenialWriter.WriteAsync(context, decision, includeDetails: true);

        Assert.Equal("peer.certificate_invalid:evil%0D%0AX-Injected: yes", context.Response.Headers["x-gatehouse-reason"].ToString());
        Assert.False(context.Response.Headers.ContainsKey("WWW-Authenticate"));
        Assert.All(context.Response.Headers, h => Assert.True(HeaderValues.IsSafe(h.Value.ToString()), h.Key));
    }
}
