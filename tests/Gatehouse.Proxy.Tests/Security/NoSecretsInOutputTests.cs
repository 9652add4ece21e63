using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Gatehouse.Tests.Contract;
using Gatehouse.Tests.TestSupport;
using Gatehouse.Tests.Tls;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Security;

/// <summary>
/// Issue 6: no token, Authorization value, cookie value, client secret or private key used by the requests below may
/// appear in any log line (every level, every category), audit record, /metrics, /config, /readyz, denial body,
/// challenge, or ext_authz response. The server runs a gateway, both ext_authz listeners, a TLS listener (so a
/// private key is loaded), an issuer with introspection (so a client secret is loaded) and an audit file.
/// </summary>
public sealed class NoSecretsInOutputTests
{
    private static string RandomSecret(string prefix) => prefix + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    [Fact]
    public async Task RepresentativeTraffic_LeaksNoSecret_ToLogsAuditMetricsConfigOrResponses()
    {
        using var pki = new TestPki();
        var (certificate, key) = pki.Write("edge-tls", pki.Workload("spiffe://a.test/ns/edge/sa/gatehouse"));
        var clientSecret = RandomSecret("client-secret-");
        var cookieValue = RandomSecret("cookie-");
        var basicValue = "Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes("alice:" + RandomSecret("pw-")));
        var opaqueToken = RandomSecret("opaque0");
        var auditDirectory = Gatehouse.Testing.TestTemp.CreateDirectory("secrets-audit-");
        var auditPath = Path.Combine(auditDirectory, "audit.jsonl");
        var logs = new List<string>();
        var observed = new StringBuilder();

        string Config(string upstream, string jwksPath)
        {
            var secretPath = Path.Combine(Path.GetDirectoryName(jwksPath)!, "introspection-secret");
            File.WriteAllText(secretPath, clientSecret);
            return $$"""
                version: 1
                issuers:
                  corp:
                    issuer: {{TestIssuerKeys.Issuer}}
                    jwks_file: {{jwksPath}}
                    audiences: [{{TestIssuerKeys.Audience}}]
                    introspection: { endpoint: {{upstream}}/introspect, client_id: gatehouse, client_secret_file: {{secretPath}}, auth_method: client_secret_post }
                listeners:
                  - { name: edge, mode: gateway, address: "127.0.0.1:0" }
                  - { name: edge-tls, mode: gateway, address: "127.0.0.1:0", tls: { certificate: {{certificate}}, key: {{key}} } }
                  - { name: grpc, mode: ext_authz_grpc, address: "127.0.0.1:0" }
                  - { name: authz, mode: ext_authz_http, address: "127.0.0.1:0" }
                  - { name: admin, mode: admin, address: "127.0.0.1:0" }
                routes:
                  - name: orders
                    match: { path_prefix: /orders }
                    upstream: {{upstream}}
                    authentication: { issuers: [corp], require_token: true, required_scopes: [orders.read] }
                    claim_headers: { x-auth-subject: sub }
                  - name: forwarding
                    match: { path_prefix: /forwarding }
                    upstream: {{upstream}}
                    authentication: { issuers: [corp], require_token: true, forward_authorization: true }
                policies: {}
                audit: { path: {{auditPath}}, include_query: true }
                """;
        }

        var secrets = new List<(string Name, string Value)>();
        try
        {
            await using (var gateway = await GatewayHarness.StartAsync(Config, async context =>
            {
                if (context.Request.Path == "/introspect")
                {
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("{\"active\":false}");
                    return;
                }
                await context.Response.WriteAsync("ok");
            }, logs))
            {
                var keys = gateway.Keys;
                var now = DateTimeOffset.UtcNow;
                var valid = keys.Mint();
                var expired = keys.Mint(overrides: new Dictionary<string, object?>
                {
                    ["iat"] = now.AddHours(-2).ToUnixTimeSeconds(), ["nbf"] = now.AddHours(-2).ToUnixTimeSeconds(), ["exp"] = now.AddHours(-1).ToUnixTimeSeconds(),
                });
                var wrongAudience = keys.Mint(overrides: new Dictionary<string, object?> { ["aud"] = "billing" });
                var noScope = keys.Mint("profile");
                var badSignature = valid[..^8] + (valid[^8] == 'A' ? "BBBBBBBB" : "AAAAAAAA");
                var unknownKid = new TestIssuerKeys("rs-unknown", "ec-unknown");
                var foreignKey = unknownKid.Mint();
                unknownKid.Dispose();
                var unsigned = TestIssuerKeys.Unsigned(keys.ValidPayloadJson());
                var hmacConfusion = keys.HmacWithPublicKey(keys.ValidPayloadJson());
                var huge = keys.Mint(overrides: new Dictionary<string, object?> { ["blob"] = new string('x', 40_000) });

                var tokens = new[] { valid, expired, wrongAudience, noScope, badSignature, foreignKey, unsigned, hmacConfusion, opaqueToken, huge };
                for (var i = 0; i < tokens.Length; i++)
                {
                    secrets.Add(($"token[{i}]", tokens[i]));
                    var parts = tokens[i].Split('.');
                    if (parts.Length == 3 && parts[2].Length >= 16)
                    {
                        secrets.Add(($"token[{i}].signature", parts[2]));
                    }
                    if (parts.Length == 3 && parts[1].Length >= 16)
                    {
                        secrets.Add(($"token[{i}].payload", parts[1]));
                    }
                }
                secrets.Add(("basic", basicValue));
                secrets.Add(("basic-credentials", basicValue["Basic ".Length..]));
                secrets.Add(("cookie", cookieValue));
                secrets.Add(("client_secret", clientSecret));
                foreach (var line in File.ReadAllLines(key).Where(l => !l.StartsWith("-----", StringComparison.Ordinal) && l.Length >= 32))
                {
                    secrets.Add(("private-key-pem-line", line));
                }

                var edge = gateway.Server.GetListenerUri("edge");
                var authz = gateway.Server.GetListenerUri("authz");
                var authorizations = tokens.Select(t => "Bearer " + t).Append(basicValue).Append("Bearer " + valid + " trailing").Append("bearer " + valid + "=,x").ToList();
                // A token hidden inside a query value (include_query: true): behind "Bearer ", inside an encoded redirect
                // URL, with its dots encoded.
                var hiddenInQuery = new[]
                {
                    "/orders/1?q=Bearer%20" + valid,
                    "/orders/1?redirect=https%3A%2F%2Fapp.example%2Fcb%3Fid_token%3D" + valid + "%26s%3D1",
                    "/orders/1?q=" + valid.Replace(".", "%2E", StringComparison.Ordinal),
                };
                foreach (var target in new[] { "/orders/1", "/forwarding/1", "/orders/1?access_token=" + valid[..20] }.Concat(hiddenInQuery))
                {
                    foreach (var authorization in authorizations)
                    {
                        var headers = new[] { "Authorization: " + authorization, "Cookie: session=" + cookieValue, "x-api-key: " + cookieValue };
                        Record(observed, await RawHttp.SendAsync(edge, "GET", target, headers: headers));
                        Record(observed, await RawHttp.SendAsync(authz, "GET", target, headers: headers));
                    }
                }
                // Duplicate Authorization headers and a token in a cookie only.
                Record(observed, await RawHttp.SendAsync(edge, "GET", "/orders/1", headers: ["Authorization: Bearer " + valid, "Authorization: Bearer " + expired]));
                Record(observed, await RawHttp.SendAsync(edge, "GET", "/orders/1", headers: ["Cookie: access_token=" + valid]));

                using (var grpc = new HttpClient(new SocketsHttpHandler { UseProxy = false })
                {
                    BaseAddress = gateway.Server.GetListenerUri("grpc"),
                    DefaultRequestVersion = HttpVersion.Version20,
                    DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
                })
                {
                    foreach (var authorization in authorizations)
                    {
                        var http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/1", Host = "api.example.com", Scheme = "http" };
                        http.Headers["authorization"] = authorization;
                        http.Headers["cookie"] = "session=" + cookieValue;
                        var check = new CheckRequest { Attributes = new AttributeContext { Request = new AttributeContext.Types.Request { Http = http } } };
                        var result = await GrpcTestClient.CallAsync(grpc, GrpcTestClient.Frame(check));
                        observed.AppendLine(result.GrpcMessage).AppendLine(result.Response?.ToString());
                    }
                }

                using var admin = new HttpClient { BaseAddress = gateway.AdminUri };
                observed.AppendLine(await admin.GetStringAsync("/metrics"));
                observed.AppendLine(await admin.GetStringAsync("/config"));
                observed.AppendLine(await admin.GetStringAsync("/readyz"));

                // Sanity: the traffic really was decided (a valid token is allowed), so the scan below means something.
                using var ok = await gateway.GetAsync("/orders/1", valid);
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            }

            var audit = File.ReadAllText(auditPath);
            Assert.True(audit.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 40, "the audit file should hold a record per decision");
            Assert.True(logs.Count > 0, "the log sink captured nothing");
            // Positive controls: the scanned texts are the right ones (decisions with fingerprints were recorded).
            Assert.Contains("\"token_fingerprint\"", audit, StringComparison.Ordinal);
            Assert.Contains("/forwarding/1", audit, StringComparison.Ordinal);
            Assert.Contains("gatehouse_decisions_total", observed.ToString(), StringComparison.Ordinal);
            var haystacks = new (string Name, string Text)[]
            {
                ("logs", string.Join('\n', logs)),
                ("audit", audit),
                ("responses, /metrics, /config, /readyz", observed.ToString()),
            };
            var leaks = new List<string>();
            foreach (var (where, text) in haystacks)
            {
                foreach (var (name, value) in secrets)
                {
                    var index = text.IndexOf(value, StringComparison.Ordinal);
                    if (index >= 0)
                    {
                        var start = Math.Max(0, index - 120);
                        leaks.Add($"{name} found in {where}: …{text.Substring(start, Math.Min(240, text.Length - start))}…");
                    }
                }
            }
            Assert.True(leaks.Count == 0, "secrets leaked:\n" + string.Join("\n", leaks.Distinct().Take(20)));
        }
        finally
        {
            Directory.Delete(auditDirectory, recursive: true);
        }
    }

    private static void Record(StringBuilder observed, RawResponse response)
    {
        foreach (var (name, value) in response.Headers)
        {
            observed.Append(name).Append(": ").AppendLine(value);
        }
        observed.AppendLine(response.Body);
    }
}
