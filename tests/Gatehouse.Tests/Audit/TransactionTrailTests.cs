using Gatehouse.Audit;
using Gatehouse.Cli.Audit;
using Gatehouse.Tests.Cli;

namespace Gatehouse.Tests.Audit;

/// <summary>
/// <c>gatehouse audit summarize FILE… --txn ID</c>: one transaction's path through the audit files of three processes
/// (real files written with <see cref="AuditRecord.ToJson"/>), in time order across files, text and HTML.
/// </summary>
public sealed class TransactionTrailTests
{
    private const string Gateway = "spiffe://shop.example/ns/edge/sa/gateway";
    private const string Orders = "spiffe://shop.example/ns/shop/sa/orders";
    private static readonly DateTimeOffset s_t0 = new(2026, 12, 7, 0, 30, 0, TimeSpan.Zero);

    private static AuditRecord Record(int ms, string listener, string route, string method, string path, string decision, int status, string reason,
        string? txn, string? workload = null, string? clientId = null, string[]? scopes = null, string[]? reqWl = null, bool unverified = false) => new()
        {
            Time = s_t0.AddMilliseconds(ms),
            Decision = decision,
            StatusCode = status,
            Reasons = [reason],
            Route = route,
            Listener = listener,
            Method = method,
            Host = route + ".shop.example",
            Path = path,
            SourceAddress = "127.0.0.1",
            Workload = workload,
            ClientId = clientId,
            Subject = unverified ? "mallory" : "user-42",
            Scopes = scopes ?? [],
            Txn = txn,
            TxnUnverified = unverified,
            RequestingWorkloads = reqWl ?? [],
            TxnRoute = reqWl is null ? null : "checkout",
        };

    /// <summary>Three processes' files; the payments sidecar's lines were written out of order with the others.</summary>
    private static string[] WriteFiles()
    {
        var dir = CliRunner.TempDirectory();
        var gateway = Path.Combine(dir, "gateway.jsonl");
        var orders = Path.Combine(dir, "orders-sidecar.jsonl");
        var payments = Path.Combine(dir, "payments-sidecar.jsonl");
        File.WriteAllLines(gateway,
        [
            Record(0, "edge", "checkout", "POST", "/checkout", "allow", 200, "policy.allow_matched:web/rule0", "txn-A", clientId: "web", scopes: ["orders.write"]).ToJson(),
            Record(5, "edge", "checkout", "POST", "/checkout", "allow", 200, "policy.allow_matched:web/rule0", "txn-B", clientId: "web").ToJson(),
            "{ not json",
        ]);
        File.WriteAllLines(orders,
        [
            Record(12, "in", "orders", "POST", "/orders", "allow", 200, "policy.allow_matched:from-gateway/rule0", "txn-A", workload: Gateway,
                scopes: ["orders.write", "payments.charge"], reqWl: [Gateway]).ToJson(),
        ]);
        File.WriteAllLines(payments,
        [
            Record(40, "in", "payments", "POST", "/payments/refund", "deny", 403, "policy.no_allow_match", "txn-A", workload: Orders,
                scopes: ["payments.charge"], reqWl: [Gateway, Orders]).ToJson(),
            Record(20, "in", "payments", "POST", "/payments/charge", "allow", 200, "policy.allow_matched:checkout-only/rule0", "txn-A", workload: Orders,
                scopes: ["payments.charge"], reqWl: [Gateway, Orders]).ToJson(),
            Record(90, "in", "payments", "POST", "/payments/charge", "deny", 401, "token.expired", "txn-A", workload: Orders, reqWl: [Gateway], unverified: true).ToJson(),
        ]);
        return [gateway, orders, payments];
    }

    [Fact]
    public void Orders_the_hops_of_one_transaction_across_files()
    {
        var trail = TransactionTrail.FromFiles(WriteFiles(), "txn-A");

        Assert.Equal(5, trail.Hops.Count);
        Assert.Equal(["gateway/edge", "orders-sidecar/in", "payments-sidecar/in", "payments-sidecar/in", "payments-sidecar/in"], trail.Hops.Select(h => h.Callee));
        Assert.Equal(["client web", Gateway, Orders, Orders, Orders], trail.Hops.Select(h => h.Caller));
        Assert.Equal(["/checkout", "/orders", "/payments/charge", "/payments/refund", "/payments/charge"], trail.Hops.Select(h => h.Path));
        Assert.Equal([true, true, true, false, false], trail.Hops.Select(h => h.Allowed));
        Assert.True(trail.Hops[4].Unverified);
        Assert.Equal("user-42", trail.Subject);
        Assert.Equal("checkout", trail.StartedAtRoute);
        Assert.Equal(1, trail.SkippedLines);
    }

    [Fact]
    public void Text_tells_who_called_whom_with_which_scopes_and_why()
    {
        var trail = TransactionTrail.FromFiles(WriteFiles(), "txn-A");
        using var writer = new StringWriter();

        trail.RenderText(writer);
        var text = writer.ToString();

        Assert.Contains("hops:    5 (3 allowed, 2 denied)", text, StringComparison.Ordinal);
        Assert.Contains($"{Orders} -> payments-sidecar/in", text, StringComparison.Ordinal);
        Assert.Contains("scopes [payments.charge]", text, StringComparison.Ordinal);
        Assert.Contains("DENIED 403 (policy.no_allow_match)", text, StringComparison.Ordinal);
        Assert.Contains("[Txn-Token refused here: txn as claimed, not verified]", text, StringComparison.Ordinal);
        Assert.Contains($"req_wl {Gateway} > {Orders}", text, StringComparison.Ordinal);
        Assert.DoesNotContain("txn-B", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("/orders ", StringComparison.Ordinal) < text.IndexOf("/payments/charge", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cli_text_html_and_unknown_transaction()
    {
        var files = WriteFiles();
        var html = Path.Combine(CliRunner.TempDirectory(), "txn.html");

        var text = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), ["audit", "summarize", .. files, "--txn", "txn-A"]);
        var page = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), ["audit", "summarize", .. files, "--txn", "txn-A", "--html", "--out", html]);
        var unknown = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), ["audit", "summarize", .. files, "--txn", "txn-nope"]);

        Assert.True(text.ExitCode == 0, text.StdErr);
        Assert.Contains("Transaction txn-A", text.StdOut, StringComparison.Ordinal);
        Assert.True(page.ExitCode == 0, page.StdErr);
        var content = await File.ReadAllTextAsync(html);
        Assert.StartsWith("<!DOCTYPE html>", content.TrimStart(), StringComparison.Ordinal);
        Assert.Contains("payments-sidecar/in <span class=\"deny\">denied</span>", content, StringComparison.Ordinal);
        Assert.DoesNotMatch("(src|href)=\"https?://", content);
        Assert.DoesNotContain("<script", content, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no record carries this transaction id", unknown.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostile_values_are_escaped_in_html()
    {
        var dir = CliRunner.TempDirectory();
        var file = Path.Combine(dir, "x.jsonl");
        File.WriteAllLines(file, [Record(0, "in", "r", "GET", "/<script>alert(1)</script>", "deny", 403, "policy.no_allow_match", "t1", workload: "spiffe://a/<b>").ToJson()]);
        using var writer = new StringWriter();

        TransactionTrail.FromFiles([file], "t1").RenderHtml(writer);

        Assert.DoesNotContain("<script>", writer.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", writer.ToString(), StringComparison.Ordinal);
    }
}
