using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Demo;

/// <summary>
/// A sample service on loopback that answers with what it received (method, path, identity headers). As
/// <c>orders</c>, <c>POST /orders/{id}/pay</c> also calls payments through its outbound sidecar
/// (<see cref="PaymentsVia"/>), passing on the caller's token, and includes payments' answer.
/// </summary>
internal sealed class SampleUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    private SampleUpstream(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    public string Address { get; }

    /// <summary>The outbound sidecar listener the service calls payments through (set once Gatehouse is up).</summary>
    public Uri? PaymentsVia { get; set; }

    public static async Task<SampleUpstream> StartAsync(string service = "orders")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        SampleUpstream? self = null;
        app.Run(async context =>
        {
            if (self?.PaymentsVia is { } via && HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Value?.EndsWith("/pay", StringComparison.Ordinal) == true)
            {
                await self.PayAsync(context, via).ConfigureAwait(false);
                return;
            }

            var headers = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in context.Request.Headers)
            {
                var lower = name.ToLowerInvariant();
                if (lower.StartsWith("x-", StringComparison.Ordinal) || lower == "traceparent" || lower == "txn-token")
                {
                    headers[lower] = value.ToString();
                }
            }
            var body = new Dictionary<string, object>
            {
                ["service"] = service,
                ["method"] = context.Request.Method,
                ["path"] = context.Request.Path.Value ?? "/",
                ["authorization_forwarded"] = context.Request.Headers.ContainsKey("Authorization"),
                ["headers"] = headers,
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(body, DemoJsonContext.Default.DictionaryStringObject)).ConfigureAwait(false);
        });
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new SampleUpstream(app, address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/'));
        return self;
    }

    // The app's side of the hop: a plain HTTP call to its sidecar with payments' host name and the caller's token;
    // the sidecar exchanges the token, originates mTLS and checks payments' identity.
    private async Task PayAsync(HttpContext context, Uri via)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(via, "/payments/charge"));
        request.Headers.Host = "payments.demo.local";
        if (context.Request.Headers.Authorization.Count > 0)
        {
            request.Headers.TryAddWithoutValidation("Authorization", context.Request.Headers.Authorization.ToString());
        }

        using var response = await _client.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = (int)response.StatusCode;
        context.Response.ContentType = "application/json";
        var reason = response.Headers.TryGetValues("x-gatehouse-reason", out var values) ? values.First() : null;
        if (reason is not null)
        {
            context.Response.Headers["x-gatehouse-reason"] = reason;
        }

        await context.Response.WriteAsync($$"""{"service":"orders","payments_status":{{(int)response.StatusCode}},"payments":{{(body.StartsWith('{') ? body : "null")}}}""").ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
