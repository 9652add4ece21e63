using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Decisions;
using Gatehouse.Decisions.Explain;
using Gatehouse.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Gatehouse.Tests.Console;

/// <summary>
/// The admin console in a real headless Chromium against a running gateway: the graph draws the calls the gateway
/// decided (right edges, right counts), the live view shows a new denial within a second, the explain form shows the
/// same decision as <c>gatehouse explain --json</c> (the same engine and rendering), and every view is captured as a
/// screenshot artifact. No request in these tests leaves 127.0.0.1.
/// </summary>
public sealed class ConsoleBrowserTests
{
    [Fact]
    public async Task Console_ShowsGraphLiveStreamExplainAndHealth_InARealBrowser()
    {
        var logs = new List<string>();
        await using var harness = await GatewayHarness.StartAsync(logSink: logs);
        var token = harness.Keys.Mint(scope: "orders.read");
        var wrongScope = harness.Keys.Mint(scope: "profile");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync($"/orders/{i}", token)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await harness.GetAsync("/orders/9", wrongScope)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await harness.GetAsync("/orders/8")).StatusCode);

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.Instance.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add(message.Text);
            }
        };
        var ui = new Uri(harness.AdminUri, "/ui");

        // 1. Service graph: one edge per caller → route, counted as the gateway decided.
        await page.GotoAsync(ui.ToString());
        var clientEdge = page.Locator("#graph g.edge[data-from='client:checkout-client@corp'][data-to='route:orders']");
        await clientEdge.WaitForAsync(new LocatorWaitForOptions { Timeout = 15_000 });
        Assert.Equal("3", await clientEdge.GetAttributeAsync("data-allowed"));
        Assert.Equal("1", await clientEdge.GetAttributeAsync("data-denied"));
        var anonymousEdge = page.Locator("#graph g.edge[data-from='anonymous:edge'][data-to='route:orders']");
        Assert.Equal("0", await anonymousEdge.GetAttributeAsync("data-allowed"));
        Assert.Equal("1", await anonymousEdge.GetAttributeAsync("data-denied"));
        Assert.Contains("mixed", await clientEdge.GetAttributeAsync("class"), StringComparison.Ordinal);
        await clientEdge.Locator("path").ClickAsync();
        await Assertions(page.Locator("#graph-detail")).ToContainTextAsync("3 allowed");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ArtifactDirectory, "graph.png"), FullPage = true });

        // 2. Live decisions: the recent ones at once, then a new denial pushed over Server-Sent Events.
        await page.ClickAsync("nav button[data-view='live']");
        await page.Locator("#live-table tr.decision").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 15_000 });
        Assert.Equal(5, await page.Locator("#live-table tr.decision").CountAsync());
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'live'", null, new PageWaitForFunctionOptions { Timeout = 15_000 });
        var marker = "/orders/live-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Unauthorized, (await harness.GetAsync(marker)).StatusCode);
        // The bar: the denial is on screen within a second of the gateway answering.
        await page.Locator($"#live-table tr.decision[data-decision='deny']:has-text('{marker}')").WaitForAsync(new LocatorWaitForOptions { Timeout = 1_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ArtifactDirectory, "live.png"), FullPage = true });

        // 3. Explain in the browser: the same decision, rendered the same way, as the CLI's --json.
        await page.ClickAsync("nav button[data-view='explain']");
        var url = $"http://{harness.Client.BaseAddress!.Authority}/orders/9";
        await page.FillAsync("#explain-form input[name='url']", url);
        await page.FillAsync("#explain-form textarea[name='token']", wrongScope);
        await page.ClickAsync("#explain-form button[type='submit']");
        await Assertions(page.Locator("#explain-verdict")).ToHaveTextAsync("DENY (403)");
        var shown = JsonNode.Parse(await page.Locator("#explain-json").TextContentAsync() ?? "")!;
        var expected = JsonNode.Parse(await CliExplainJsonAsync(harness, $"GET {url}", wrongScope))!;
        Assert.True(JsonNode.DeepEquals(expected, shown), $"console:\n{shown}\nCLI:\n{expected}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ArtifactDirectory, "explain.png"), FullPage = true });

        // 4. Health at a glance.
        await page.ClickAsync("nav button[data-view='health']");
        await Assertions(page.Locator(".card.issuer[data-issuer='corp']")).ToContainTextAsync("2 key(s) loaded");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ArtifactDirectory, "health.png"), FullPage = true });

        // The pasted token went to the admin listener only and reached no log line; the page ran without errors
        // (a CSP violation would be one).
        Assert.DoesNotContain(logs, line => line.Contains(wrongScope, StringComparison.Ordinal));
        Assert.Empty(consoleErrors);
    }

    /// <summary>What <c>gatehouse explain --json</c> prints for the request: the same request builder, engine and rendering.</summary>
    private static async Task<string> CliExplainJsonAsync(GatewayHarness harness, string requestLine, string token)
    {
        Assert.True(ExplainRequest.TryCreate(requestLine, new Dictionary<string, string>(), token, null, null, null, out var request, out var error), error);
        var engine = harness.Server.Services.GetRequiredService<DecisionEngine>();
        var decision = await engine.DecideAsync(request, harness.Server.Snapshots.Current, trace: true, CancellationToken.None);
        using var buffer = new MemoryStream();
        DecisionExplanation.WriteJson(decision, buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static ILocatorAssertions Assertions(ILocator locator) => Microsoft.Playwright.Assertions.Expect(locator);
}
