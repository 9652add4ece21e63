using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Http;
using Gatehouse.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Proxy.Gateway;

/// <summary>Writes a denial: status, RFC 6750 challenge, and a short JSON body naming the reason. Never a stack trace.</summary>
public static class DenialWriter
{
    public const string ReasonHeader = "x-gatehouse-reason";

    public static async Task WriteAsync(HttpContext context, Decision decision, bool includeDetails)
    {
        var response = context.Response;
        response.StatusCode = decision.StatusCode;
        // Every value through the one header-value encoder: the challenge's parameters are encoded where it is built
        // (Challenges), reasons can carry a detail taken from a token or a certificate, so they are percent-encoded.
        if (HeaderValues.CheckedOrNull(decision.Challenge) is { } challenge)
        {
            response.Headers[HeaderNames.WWWAuthenticate] = challenge;
        }
        if (decision.StatusCode == StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers[HeaderNames.RetryAfter] = "5";
        }
        var reasons = includeDetails ? decision.Reasons : decision.Reasons.Select(ReasonCodes.CodeOf).ToArray();
        response.Headers[ReasonHeader] = reasons.Count > 0 ? HeaderValues.EncodeText(reasons[0]) : "denied";
        response.Headers[HeaderNames.CacheControl] = "no-store";
        await WriteJsonAsync(context, decision.StatusCode, ErrorName(decision), reasons).ConfigureAwait(false);
    }


    /// <summary>Writes <c>{"error": …, "status": …, "reasons": […]}</c>.</summary>
    public static async Task WriteJsonAsync(HttpContext context, int status, string error, IReadOnlyList<string> reasons)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        using var buffer = new MemoryStream(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("error", error);
            writer.WriteNumber("status", status);
            writer.WriteStartArray("reasons");
            foreach (var reason in reasons)
            {
                writer.WriteStringValue(reason);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        response.ContentLength = buffer.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The RFC 6750 error name for the decision (or a short generic name for non-token denials).</summary>
    public static string ErrorName(Decision decision) => decision.StatusCode switch
    {
        400 => "invalid_request",
        401 when decision.Challenge == Challenges.Missing => "unauthorized",
        401 => "invalid_token",
        403 when decision.Challenge?.Contains("error=\"insufficient_scope\"", StringComparison.Ordinal) == true => "insufficient_scope",
        403 => "forbidden",
        404 => "not_found",
        503 => "temporarily_unavailable",
        _ => "denied",
    };
}
