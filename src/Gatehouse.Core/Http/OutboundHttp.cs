using System.Net;
using Gatehouse.Configuration;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Gatehouse.Http;

/// <summary>
/// Shared rules for every outbound document fetch (JWKS, discovery, introspection, SPIFFE federation bundles). It lives
/// in Http/, below the engines, so Identity and Tokens both fetch through it without depending on each other.
/// </summary>
internal static class OutboundHttp
{
    /// <summary>HTTPS only; plain HTTP only to a loopback host (development, tests).</summary>
    public static bool IsAllowedUrl(string? url, out Uri? uri)
    {
        uri = null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u))
        {
            return false;
        }

        uri = u;
        if (u.Scheme == Uri.UriSchemeHttps)
        {
            return true;
        }

        return u.Scheme == Uri.UriSchemeHttp && IsLoopback(u);
    }

    private static bool IsLoopback(Uri u) =>
        string.Equals(u.IdnHost, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(u.IdnHost.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>
    /// Timeout inside a circuit breaker (Polly.Core), timed by <paramref name="timeProvider"/>. Each call returns a
    /// pipeline with its own breaker state; <paramref name="breaker"/> only sets its thresholds.
    /// </summary>
    public static ResiliencePipeline CreatePipeline(TimeProvider timeProvider, TimeSpan timeout, CircuitBreakerConfig breaker)
    {
        ArgumentNullException.ThrowIfNull(breaker);
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = breaker.SamplingDuration,
                BreakDuration = breaker.BreakDuration,
                // Note: a timeout (TimeoutRejectedException) counts as a failure; a caller's own cancellation does not.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
            })
            .AddTimeout(timeout)
            .Build();
    }

    /// <summary>
    /// GETs a JSON document (JWKS, discovery, SPIFFE bundle) through <paramref name="pipeline"/> (timeout, circuit
    /// breaker): a non-200 answer throws <see cref="HttpRequestException"/> naming <paramref name="what"/>; a body over
    /// <paramref name="maxBytes"/> gives null, for the caller to refuse in its own terms.
    /// </summary>
    public static ValueTask<byte[]?> GetDocumentAsync(
        HttpClient http, ResiliencePipeline pipeline, Uri uri, string what, int maxBytes, CancellationToken cancellationToken) =>
        pipeline.ExecuteAsync(async ct =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.ParseAdd("application/json");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new HttpRequestException($"{what} answered HTTP {(int)response.StatusCode}", null, response.StatusCode);
            }

            return await ReadLimitedAsync(response, maxBytes, ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Reads a response body up to <paramref name="maxBytes"/>; null when larger.</summary>
    public static async Task<byte[]?> ReadLimitedAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is long declared && declared > maxBytes)
        {
            return null;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[Math.Min(maxBytes + 1, (int)Math.Min(response.Content.Headers.ContentLength ?? 16 * 1024, maxBytes) + 1)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (buffer.Length > maxBytes)
                {
                    return null;
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, maxBytes + 1));
            }

            var n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
            if (total > maxBytes)
            {
                return null;
            }
        }

        return buffer.AsSpan(0, total).ToArray();
    }

    /// <summary>A short, safe description of an outbound failure.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        BrokenCircuitException => "circuit open (recent calls failed)",
        TimeoutRejectedException => "timed out",
        HttpRequestException h => $"HTTP request failed: {h.Message}",
        _ => ex.GetType().Name + ": " + ex.Message,
    };
}
