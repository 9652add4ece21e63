using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gatehouse.Tests.Cli;

/// <summary>The CLI contracts of design.md: check's error lines and exit codes, run's refusal, explain's exit codes.</summary>
public sealed partial class CheckAndExplainTests
{
    [GeneratedRegex(@"^(?<file>.+):(?<line>\d+):(?<col>\d+): (?<path>[^:]+): (?<message>.+)$")]
    private static partial Regex ErrorLine();

    private static string ValidConfig(string jwksPath) => $$"""
        version: 1
        issuers:
          corp:
            issuer: https://idp.example.com/
            jwks_file: {{jwksPath}}
            audiences: [orders]
        listeners:
          - { name: edge, mode: gateway, address: "127.0.0.1:0" }
        routes:
          - name: orders
            match: { hosts: [api.example.com], path_prefix: /orders }
            upstream: http://127.0.0.1:5001
            authentication: { issuers: [corp], require_token: true }
            policies: [orders-read]
        policies:
          orders-read:
            action: allow
            rules:
              - to: { methods: [GET], paths: ["/orders/*"] }
                when: { scopes: [orders.read] }
        """;

    [Fact]
    public async Task Check_ValidConfig_ExitsZero()
    {
        var dir = CliRunner.TempDirectory();
        await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "keygen", "--out", dir);
        var config = Path.Combine(dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, ValidConfig(Path.Combine(dir, "jwks.json")));

        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "check", "-c", config);

        Assert.True(result.ExitCode == 0, result.StdErr);
    }

    [Fact]
    public async Task Check_InvalidConfig_PrintsEveryError_AsFileLineColPath()
    {
        var dir = CliRunner.TempDirectory();
        var config = Path.Combine(dir, "bad.yaml");
        await File.WriteAllTextAsync(config, """
            version: 1
            issuers:
              corp:
                issuer: https://idp.example.com/
                jwks_file: ./missing.json
                audiences: []
                algorithms: [none]
            listeners:
              - { name: edge, mode: gateway, address: "not-an-address" }
            routes:
              - name: orders
                match: { path_prefix: /orders }
                upstream: http://127.0.0.1:5001
                authentication: { issuers: [nope] }
                policies: [missing-policy]
                colour: blue
            """);

        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "check", "-c", config);

        Assert.Equal(1, result.ExitCode);
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length >= 7, result.StdErr);
        Assert.All(lines, line => Assert.Matches(ErrorLine(), line));
        Assert.Contains(lines, l => l.Contains(": issuers.corp.audiences: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": issuers.corp.jwks_file: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(": listeners[0].address: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("routes[0].authentication.issuers[0]", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("routes[0].policies[0]", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("colour", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_YamlSyntaxError_ReportsItsLine()
    {
        var dir = CliRunner.TempDirectory();
        var config = Path.Combine(dir, "broken.yaml");
        await File.WriteAllTextAsync(config, "version: 1\nissuers:\n  corp: [unclosed\nlisteners: []\n");

        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "check", "-c", config);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(ErrorLine(), result.StdErr.Trim().Split('\n')[0]);
        Assert.DoesNotContain("Exception", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RefusesAnInvalidConfig_WithCheckMessages()
    {
        var dir = CliRunner.TempDirectory();
        var config = Path.Combine(dir, "bad.yaml");
        await File.WriteAllTextAsync(config, "version: 2\n");

        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "run", "-c", config);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(config + ":1:", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("refusing to start", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_AllowDenyAndError_ExitCodes()
    {
        var dir = CliRunner.TempDirectory();
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "keygen", "--out", dir)).ExitCode);
        var config = Path.Combine(dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, ValidConfig(Path.Combine(dir, "jwks.json")));
        var key = Path.Combine(dir, "signing-key.pem");
        var reader = (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "mint", "--key", key, "--iss", "https://idp.example.com/", "--aud", "orders", "--scope", "orders.read")).StdOut.Trim();
        var writer = (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "mint", "--key", key, "--iss", "https://idp.example.com/", "--aud", "orders", "--scope", "orders.write")).StdOut.Trim();

        var allow = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "explain", "-c", config, "--request", "GET https://api.example.com/orders/7", "--token", reader);
        var deny = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "explain", "-c", config, "--request", "GET https://api.example.com/orders/7", "--token", writer, "--json");
        var error = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "explain", "-c", config, "--request", "not a request");

        Assert.True(allow.ExitCode == 0, allow.StdOut + allow.StdErr);
        Assert.Contains("ALLOW (200)", allow.StdOut, StringComparison.Ordinal);
        Assert.Contains("orders-read", allow.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(reader, allow.StdOut, StringComparison.Ordinal);

        Assert.Equal(1, deny.ExitCode);
        using var json = JsonDocument.Parse(deny.StdOut);
        Assert.Equal("deny", json.RootElement.GetProperty("decision").GetString());
        Assert.Equal(403, json.RootElement.GetProperty("status").GetInt32());
        Assert.NotEqual(0, json.RootElement.GetProperty("trace").GetArrayLength());

        Assert.Equal(2, error.ExitCode);
    }

    [Fact]
    public async Task Explain_ShowsTheDelegationChain_CurrentActorFirst_InTextAndJson()
    {
        var dir = CliRunner.TempDirectory();
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "keygen", "--out", dir)).ExitCode);
        var config = Path.Combine(dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, ValidConfig(Path.Combine(dir, "jwks.json")).Replace(
            "when: { scopes: [orders.read] }", "when: { scopes: [orders.read], actor: [billing-agent] }", StringComparison.Ordinal));
        var token = (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "mint", "--key", Path.Combine(dir, "signing-key.pem"),
            "--iss", "https://idp.example.com/", "--aud", "orders", "--scope", "orders.read", "--sub", "alice",
            "--claims", """{"act":{"sub":"billing-agent","client_id":"agent-app","act":{"sub":"planner","iss":"https://sts.example/"}}}""")).StdOut.Trim();
        string[] Explain(params string[] extra) => ["explain", "-c", config, "--request", "GET https://api.example.com/orders/7", "--token", token, .. extra];

        var text = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), Explain());
        var json = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), Explain("--json"));

        Assert.True(text.ExitCode == 0, text.StdOut + text.StdErr);
        Assert.Contains("actors:   2 (current first)", text.StdOut, StringComparison.Ordinal);
        Assert.Contains("1. billing-agent (current, client_id=agent-app)", text.StdOut, StringComparison.Ordinal);
        Assert.Contains("2. planner (prior, iss=https://sts.example/)", text.StdOut, StringComparison.Ordinal);
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.StdOut);
        var actors = doc.RootElement.GetProperty("principal").GetProperty("actors");
        Assert.Equal(2, actors.GetArrayLength());
        Assert.Equal("billing-agent", actors[0].GetProperty("sub").GetString());
        Assert.Equal("agent-app", actors[0].GetProperty("client_id").GetString());
        Assert.Equal("planner", actors[1].GetProperty("sub").GetString());
        Assert.Equal("https://sts.example/", actors[1].GetProperty("iss").GetString());
    }

    [Fact]
    public async Task Explain_Peer_IsTheWorkloadPoliciesSee_AndMustBeASpiffeId()
    {
        var dir = CliRunner.TempDirectory();
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "keygen", "--out", dir)).ExitCode);
        var config = Path.Combine(dir, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, ValidConfig(Path.Combine(dir, "jwks.json")) + """

              only-checkout:
                action: deny
                global: true
                rules:
                  - from: { not_principals: ["spiffe://cluster.local/ns/shop/sa/checkout"] }
            """);
        var token = (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "token", "mint", "--key", Path.Combine(dir, "signing-key.pem"), "--iss", "https://idp.example.com/", "--aud", "orders", "--scope", "orders.read")).StdOut.Trim();
        string[] Explain(params string[] extra) => ["explain", "-c", config, "--request", "GET https://api.example.com/orders/7", "--token", token, "--json", .. extra];

        var checkout = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), Explain("--peer", "spiffe://cluster.local/ns/shop/sa/checkout"));
        var other = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), Explain("--peer", "spiffe://cluster.local/ns/shop/sa/catalog"));
        var notSpiffe = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), Explain("--peer", "checkout.shop.svc"));

        Assert.True(checkout.ExitCode == 0, checkout.StdOut + checkout.StdErr);
        Assert.True(other.ExitCode == 1, other.StdOut + other.StdErr);
        Assert.Equal(2, notSpiffe.ExitCode);
        Assert.Contains("--peer", notSpiffe.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CaInitAndIssue_WriteAWorkloadCertificate()
    {
        var dir = CliRunner.TempDirectory();
        var ca = Path.Combine(dir, "ca");
        var workload = Path.Combine(dir, "checkout");

        var init = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "ca", "init", "--trust-domain", "cluster.local", "--out", ca);
        var issue = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "ca", "issue", "--ca", ca, "--spiffe-id", "spiffe://cluster.local/ns/shop/sa/checkout", "--out", workload);

        Assert.True(init.ExitCode == 0, init.StdErr);
        Assert.True(issue.ExitCode == 0, issue.StdErr);
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(
            Path.Combine(workload, "svid.pem"), Path.Combine(workload, "svid_key.pem"));
        Assert.True(certificate.HasPrivateKey);
        Assert.True(Gatehouse.Identity.Certificates.CertificateNames.TryGetUriSans(certificate, out var uris));
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/checkout", Assert.Single(uris));
    }

    [Fact]
    public async Task CaBundle_PrintsTheCaAsASpiffeBundle_ThatTheFederationParserReads()
    {
        var dir = CliRunner.TempDirectory();
        var ca = Path.Combine(dir, "ca");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "ca", "init", "--trust-domain", "west.example", "--out", ca)).ExitCode);

        var bundle = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "ca", "bundle", "--ca", ca, "--sequence", "3", "--refresh-hint", "300");
        var missing = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "ca", "bundle", "--ca", Path.Combine(dir, "nope"));

        Assert.True(bundle.ExitCode == 0, bundle.StdErr);
        Assert.True(Gatehouse.Identity.Spiffe.SpiffeBundleDocument.TryParse(System.Text.Encoding.UTF8.GetBytes(bundle.StdOut), out var parsed, out var error), error);
        Assert.Equal(3, parsed.Sequence);
        Assert.Equal(TimeSpan.FromMinutes(5), parsed.RefreshHint);
        using var caCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(ca, "ca.pem")));
        Assert.Equal(caCertificate.Thumbprint, Assert.Single(parsed.Authorities).Thumbprint);
        Assert.Equal(2, missing.ExitCode);
    }
}
