using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Console;

/// <summary>The console's HTTP surface on a real admin listener: safe headers, the off switch, the secret, explain's rules, the live stream.</summary>
public sealed class ConsoleApiTests
{
    [Fact]
    public async Task Page_IsServedFromTheAssembly_WithAPolicyThatForbidsInlineAndForeignCode()
    {
        await using var harness = await GatewayHarness.StartAsync();
        using var admin = new HttpClient { BaseAddress = harness.AdminUri };
        using var page = await admin.GetAsync("/ui");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html.Replace("https://api.example.com/orders/7", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        var script = await admin.GetStringAsync("/ui/console.js");
        Assert.DoesNotContain("innerHTML", script, StringComparison.Ordinal);
        Assert.DoesNotContain("http", script.Replace("https://${record.host}", "", StringComparison.Ordinal).Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Console_IsOff_WithUiFalse()
    {
        await using var harness = await GatewayHarness.StartAsync((u, j) => GatewayHarness.DefaultConfig(u, j, extra: "admin: { ui: false }"));
        using var admin = new HttpClient { BaseAddress = harness.AdminUri };
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/ui")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/ui/api/graph")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Secret_IsRequiredByTheApi_AndTheLoginSetsAnHttpOnlyStrictCookie()
    {
        var secretFile = Path.Combine(Gatehouse.Testing.TestTemp.CreateDirectory("console-secret-"), "ui-secret");
        await File.WriteAllTextAsync(secretFile, "s3cret-for-the-console\n");
        await using var harness = await GatewayHarness.StartAsync((u, j) => GatewayHarness.DefaultConfig(u, j, extra: $"admin: {{ ui_token_file: {secretFile} }}"));
        using var admin = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = harness.AdminUri };

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/ui")).StatusCode); // the page itself holds no data
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.GetAsync("/ui/api/graph")).StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/ui/api/graph"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-for-the-consolX");
            Assert.Equal(HttpStatusCode.Unauthorized, (await admin.SendAsync(wrong)).StatusCode);
        }

        using (var right = new HttpRequestMessage(HttpMethod.Get, "/ui/api/graph"))
        {
            right.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-for-the-console");
            Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(right)).StatusCode);
        }

        using var badLogin = await admin.PostAsync("/ui/api/login", new FormUrlEncodedContent([new("secret", "nope")]));
        Assert.Equal(HttpStatusCode.Unauthorized, badLogin.StatusCode);
        using var login = await admin.PostAsync("/ui/api/login", new FormUrlEncodedContent([new("secret", "s3cret-for-the-console")]));
        Assert.Equal(HttpStatusCode.NoContent, login.StatusCode);
        var cookie = login.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "/ui/api/health");
        withCookie.Headers.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(withCookie)).StatusCode);
    }

    [Fact]
    public async Task Explain_TakesJsonOnly_AndAnswersWithTheDecisionButNeverTheToken()
    {
        await using var harness = await GatewayHarness.StartAsync();
        using var admin = new HttpClient { BaseAddress = harness.AdminUri };
        var token = harness.Keys.Mint(scope: "orders.read");
        var url = $"http://{harness.Client.BaseAddress!.Authority}/orders/1";

        using var form = await admin.PostAsync("/ui/api/explain", new FormUrlEncodedContent([new("request", "GET " + url)]));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        using var get = await admin.GetAsync("/ui/api/explain");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        using var bad = await admin.PostAsync("/ui/api/explain", Json(new { request = "GET not-a-url" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var badPeer = await admin.PostAsync("/ui/api/explain", Json(new { request = "GET " + url, peer = "checkout" }));
        Assert.Equal(HttpStatusCode.BadRequest, badPeer.StatusCode);

        using var allowed = await admin.PostAsync("/ui/api/explain", Json(new { request = "GET " + url, token }));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        var body = await allowed.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal("allow", json.RootElement.GetProperty("decision").GetString());
        Assert.Equal("orders", json.RootElement.GetProperty("route").GetString());
        Assert.DoesNotContain(token, body, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], body, StringComparison.Ordinal);

        // Explaining is not serving: nothing reaches the audit trail or the decision list.
        using var decisions = JsonDocument.Parse(await admin.GetStringAsync("/ui/api/decisions"));
        Assert.Equal(0, decisions.RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Stream_DeliversEachDecisionAsAServerSentEvent_WithFilters()
    {
        await using var harness = await GatewayHarness.StartAsync();
        using var admin = new HttpClient { BaseAddress = harness.AdminUri, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await admin.GetAsync("/ui/api/stream?outcome=deny", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith(":", await reader.ReadLineAsync());

        var token = harness.Keys.Mint(scope: "orders.read");
        Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync("/orders/allowed", token)).StatusCode); // filtered out
        Assert.Equal(HttpStatusCode.Unauthorized, (await harness.GetAsync("/orders/denied")).StatusCode);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string? data = null;
        while (data is null && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line["data: ".Length..];
            }
        }

        Assert.NotNull(data);
        using var record = JsonDocument.Parse(data);
        Assert.Equal("deny", record.RootElement.GetProperty("decision").GetString());
        Assert.Equal("/orders/denied", record.RootElement.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Graph_CountsCallsPerCallerAndRoute_AndChainsFollowTheTraceId()
    {
        await using var harness = await GatewayHarness.StartAsync();
        using var admin = new HttpClient { BaseAddress = harness.AdminUri };
        var traceId = "0af7651916cd43dd8448eb211c80319c";
        Assert.Equal(HttpStatusCode.Unauthorized, (await harness.GetAsync("/orders/1", configure: r => r.Headers.Add("traceparent", $"00-{traceId}-b7ad6b7169203331-01"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync("/orders/2", harness.Keys.Mint())).StatusCode);

        using var graph = JsonDocument.Parse(await admin.GetStringAsync("/ui/api/graph"));
        var edges = graph.RootElement.GetProperty("edges").EnumerateArray().ToList();
        Assert.Equal(2, edges.Count);
        var anonymous = edges.Single(e => e.GetProperty("from").GetString() == "anonymous:edge");
        Assert.Equal(1, anonymous.GetProperty("denied").GetInt32());
        Assert.Equal(traceId, anonymous.GetProperty("recent_denied_traces")[0].GetString());
        Assert.Equal("token.missing", anonymous.GetProperty("top_reasons")[0].GetProperty("reason").GetString());

        using var chain = JsonDocument.Parse(await admin.GetStringAsync($"/ui/api/chain?trace={traceId}"));
        Assert.Equal(1, chain.RootElement.GetArrayLength());
        Assert.Equal("/orders/1", chain.RootElement[0].GetProperty("path").GetString());
    }

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
}
