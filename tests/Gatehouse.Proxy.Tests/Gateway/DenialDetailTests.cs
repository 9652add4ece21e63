using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Proxy.Gateway;
using Gatehouse.Tests.TestSupport;

namespace Gatehouse.Tests.Gateway;

/// <summary>
/// By default a gateway tells the caller the stable reason code only; the detail after ':' (the missing scope, the
/// denying policy and rule) stays in the audit record unless the listener sets <c>include_error_details</c>.
/// </summary>
public sealed class DenialDetailTests
{
    [Fact]
    public async Task ByDefault_TheCallerGetsTheCodeOnly_AndTheAuditRecordTheFullReason()
    {
        var sink = new RecordingSink();
        await using var gateway = await GatewayHarness.StartAsync(
            config: (u, j) => WithoutDetails(GatewayHarness.DefaultConfig(u, j)),
            auditSinks: [sink]);

        using var response = await gateway.GetAsync("/orders", gateway.Keys.Mint("orders.write"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var header = Assert.Single(response.Headers.GetValues(DenialWriter.ReasonHeader));
        Assert.DoesNotContain(':', header);
        Assert.All(body.GetProperty("reasons").EnumerateArray(), r => Assert.DoesNotContain(':', r.GetString()!));
        Assert.Equal(header, body.GetProperty("reasons")[0].GetString());
        // RFC 6750 §3: the scope the caller lacks is still named where the standard puts it.
        Assert.Contains("scope=\"orders.read\"", Assert.Single(response.Headers.WwwAuthenticate).Parameter, StringComparison.Ordinal);

        var record = JsonDocument.Parse(await sink.FirstLine.WaitAsync(TimeSpan.FromSeconds(30))).RootElement;
        Assert.Contains(record.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.StartsWith(header + ":", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithIncludeErrorDetails_TheCallerGetsTheDetailToo()
    {
        await using var gateway = await GatewayHarness.StartAsync();

        using var response = await gateway.GetAsync("/orders", gateway.Keys.Mint("orders.write"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(':', Assert.Single(response.Headers.GetValues(DenialWriter.ReasonHeader)));
    }

    private static string WithoutDetails(string yaml)
    {
        var result = yaml.Replace(", include_error_details: true", "", StringComparison.Ordinal);
        Assert.NotEqual(yaml, result);
        return result;
    }

    private sealed class RecordingSink : IAuditSink
    {
        private readonly TaskCompletionSource<string> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "recording";
        public Task<string> FirstLine => _first.Task;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
        {
            _first.TrySetResult(Encoding.UTF8.GetString(line.Span));
            return ValueTask.CompletedTask;
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
