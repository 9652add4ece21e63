namespace Gatehouse.Tests.Cli;

/// <summary>`gatehouse audit summarize` and `gatehouse import istio` as a user runs them.</summary>
public sealed class AuditAndImportCommandTests
{
    [Fact]
    public async Task AuditSummarize_TextAndHtml()
    {
        var fixture = RepoPaths.Of("tests", "Gatehouse.Tests", "Audit", "Fixtures", "audit-sample.jsonl");
        var html = Path.Combine(CliRunner.TempDirectory(), "report.html");

        var text = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "audit", "summarize", fixture);
        var page = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "audit", "summarize", fixture, "--html", "--out", html);
        var missing = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "audit", "summarize", fixture + ".nope");

        Assert.True(text.ExitCode == 0, text.StdErr);
        Assert.Contains("denied", text.StdOut, StringComparison.OrdinalIgnoreCase);
        Assert.True(page.ExitCode == 0, page.StdErr);
        var content = await File.ReadAllTextAsync(html);
        Assert.StartsWith("<!DOCTYPE html>", content.TrimStart(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<svg", content, StringComparison.Ordinal);
        Assert.DoesNotMatch("(src|href)=\"https?://", content);
        Assert.Equal(2, missing.ExitCode);
    }

    [Fact]
    public async Task ImportIstio_WritesAConfigFragment_AndWarnsOnWhatItCannotCarry()
    {
        var dir = CliRunner.TempDirectory();
        var manifest = Path.Combine(dir, "istio.yaml");
        await File.WriteAllTextAsync(manifest, """
            apiVersion: security.istio.io/v1
            kind: RequestAuthentication
            metadata: { name: jwt, namespace: shop }
            spec:
              selector: { matchLabels: { app: orders } }
              jwtRules:
                - issuer: https://idp.example.com/
                  jwksUri: https://idp.example.com/jwks
                  audiences: [orders]
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: orders-read, namespace: shop }
            spec:
              selector: { matchLabels: { app: orders } }
              action: ALLOW
              rules:
                - from: [ { source: { principals: ["cluster.local/ns/shop/sa/checkout"] } } ]
                  to: [ { operation: { methods: ["GET"], paths: ["/orders/*"] } } ]
                  when: [ { key: "request.auth.claims[scope]", values: ["orders.read"] } ]
            """);

        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "import", "istio", manifest);

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains("issuers:", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("https://idp.example.com/", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("spiffe://cluster.local/ns/shop/sa/checkout", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("orders.read", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("selector", result.StdErr, StringComparison.Ordinal);
    }
}
