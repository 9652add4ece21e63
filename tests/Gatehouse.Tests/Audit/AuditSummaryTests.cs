using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Audit;
using Gatehouse.Cli.Audit;
using Gatehouse.Decisions;
using Gatehouse.Identity;
using Gatehouse.Model;

namespace Gatehouse.Tests.Audit;

public sealed class AuditSummaryTests
{
    private static readonly string s_fixture = RepoPaths.Of("tests", "Gatehouse.Tests", "Audit", "Fixtures", "audit-sample.jsonl");

    [Fact]
    public void FromFiles_CountsPerRouteCallerAndReason()
    {
        var summary = AuditSummary.FromFiles([s_fixture]);

        Assert.Equal(12, summary.Records);
        Assert.Equal(3, summary.MalformedLines);
        Assert.Equal(1, summary.UnsupportedRecords);
        Assert.Equal(6, summary.Denied);
        Assert.Equal(6, summary.Allowed);
        Assert.Equal(1, summary.DryRun);
        Assert.Equal(3, summary.DroppedRecords);
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture), summary.From);
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T09:59:59Z", System.Globalization.CultureInfo.InvariantCulture), summary.To);

        var orders = summary.Routes.Single(r => r.Name == "orders");
        Assert.Equal((2L, 3L), (orders.Allowed, orders.Denied));
        var payments = summary.Routes.Single(r => r.Name == "payments");
        Assert.Equal((3L, 1L, 1L), (payments.Allowed, payments.Denied, payments.DryRun));
        Assert.Equal(1, summary.Routes.Single(r => r.Name == AuditSummary.NoRoute).Denied);

        var checkout = summary.Callers.Single(c => c.Name == "checkout-svc");
        Assert.Equal((2L, 2L), (checkout.Allowed, checkout.Denied));
        Assert.Equal(3, summary.Callers.Single(c => c.Name == "spiffe://cluster.local/ns/billing/sa/invoicer").Allowed);
        Assert.Equal(2, summary.Callers.Single(c => c.Name == AuditSummary.Anonymous).Denied);

        Assert.Equal(new KeyValuePair<string, long>("scope.missing:orders.write", 2), summary.DenialReasons[0]);
        var top = summary.Denials[0];
        Assert.Equal(("checkout-svc", "orders", "POST", "/orders", "scope.missing:orders.write", 2L), (top.Caller, top.Route, top.Method, top.Path, top.Reason, top.Count));
    }

    [Fact]
    public void RenderText_TellsTheStory()
    {
        var summary = AuditSummary.FromFiles([s_fixture]);
        using var writer = new StringWriter();

        summary.RenderText(writer);
        var text = writer.ToString();

        Assert.Contains("12 (6 allowed, 6 denied, 1 would be denied by dry-run policies)", text, StringComparison.Ordinal);
        Assert.Contains("3 malformed lines, 1 records of an unsupported schema version", text, StringComparison.Ordinal);
        Assert.Contains("3 records were dropped", text, StringComparison.Ordinal);
        Assert.Contains("checkout-svc -> orders: POST /orders denied (scope.missing:orders.write)", text, StringComparison.Ordinal);
        Assert.Matches(@"orders\s+2\s+3\s+0\s+60\.0%", text);
    }

    [Fact]
    public void RenderHtml_IsSelfContainedAndEscaped()
    {
        var summary = AuditSummary.FromFiles([s_fixture]);
        using var writer = new StringWriter();

        summary.RenderHtml(writer);
        var html = writer.ToString();

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("<rect class=\"deny\"", html, StringComparison.Ordinal);
        // Only real markup can load anything: every tag (escaped values contain no '<') is checked.
        var tags = Regex.Matches(html, "<[^>]*>").Select(m => m.Value).ToList();
        Assert.NotEmpty(tags);
        Assert.DoesNotContain(tags, t => Regex.IsMatch(t, @"(src|href|xlink:href|action)\s*=", RegexOptions.IgnoreCase));
        Assert.DoesNotContain(tags, t => Regex.IsMatch(t, @"^<(script|link|img|iframe|object|embed|image|use)\b", RegexOptions.IgnoreCase));
        Assert.DoesNotMatch(new Regex(@"url\(|@import", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain(tags, t => Regex.IsMatch(t, "https?://", RegexOptions.IgnoreCase));
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;mallory&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=https://evil.example/x.png&gt;", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>" + Environment.NewLine, html, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderText_ReplacesControlCharacters()
    {
        var summary = new AuditSummary();
        Assert.True(summary.AddLine("""{"time":"2026-11-20T09:00:00.000Z","schema_version":1,"decision":"deny","status":403,"reasons":["x"],"route":"r\u001b[2J","method":"GET","host":"h","path":"/a\nFAKE LINE","latency_ms":0,"dropped_before":0}"""));
        using var writer = new StringWriter();

        summary.RenderText(writer);

        Assert.DoesNotContain('\u001b', writer.ToString());
        Assert.Contains("/a?FAKE LINE", writer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void RenderHtml_OfAnEmptyTrail_StillRenders()
    {
        var summary = new AuditSummary();
        summary.Add(new StringReader(""), "empty.jsonl");
        using var html = new StringWriter();
        using var text = new StringWriter();

        summary.RenderHtml(html);
        summary.RenderText(text);

        Assert.Contains("No denials.", html.ToString(), StringComparison.Ordinal);
        Assert.Contains("(no denials)", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Summary_ReadsWhatThePipelineWrites_AcrossRotatedFiles()
    {
        var dir = new DirectoryInfo(Gatehouse.Testing.TestTemp.CreateDirectory("audit-"));
        try
        {
            var path = Path.Combine(dir.FullName, "audit.jsonl");
            await using (var pipeline = AuditPipeline.FromConfig(new Gatehouse.Configuration.AuditConfig { Path = path, MaxFileBytes = 4096, MaxFiles = 10 }))
            {
                for (var i = 0; i < 30; i++)
                {
                    pipeline.TryWrite(i % 3 == 0 ? Deny() : Allow(), Request(), TimeSpan.FromMilliseconds(1), DateTimeOffset.UnixEpoch.AddSeconds(i));
                }
            }

            var files = dir.GetFiles("audit.jsonl*").Select(f => f.FullName).ToList();
            Assert.True(files.Count > 1);
            var summary = AuditSummary.FromFiles(files);

            Assert.Equal(30, summary.Records);
            Assert.Equal(10, summary.Denied);
            Assert.Equal(0, summary.MalformedLines);
            Assert.Equal(10, summary.Routes.Single(r => r.Name == "orders").Denied);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    // Note: what the pipeline writes is checked against schema/audit-record.schema.json by the Core tests
    // (AuditRecordTests); here only that the summary reads it back, across rotated files.
    private static AuthorizationRequest Request() => new()
    {
        Method = "GET",
        Host = "api.example.com",
        RawPath = "/orders/42",
        GetHeader = _ => null,
        SourceAddress = IPAddress.Parse("10.1.2.3"),
        PeerIdentity = "spiffe://cluster.local/ns/shop/sa/checkout",
        Listener = "edge",
    };

    private static Decision Allow() => new()
    {
        Outcome = DecisionOutcome.Allow,
        StatusCode = 200,
        Reasons = [ReasonCodes.PolicyAllowMatched + ":orders-read/rule0"],
        RouteName = "orders",
        NormalizedPath = "/orders/42",
        Principal = new Principal { Workload = "spiffe://cluster.local/ns/shop/sa/checkout", ClientId = "checkout-svc" },
    };

    private static Decision Deny() => new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = 403,
        Reasons = [ReasonCodes.ScopeMissing + ":orders.write"],
        RouteName = "orders",
        NormalizedPath = "/orders/42",
        Principal = new Principal { Workload = "spiffe://cluster.local/ns/shop/sa/checkout", ClientId = "checkout-svc" },
    };
}
