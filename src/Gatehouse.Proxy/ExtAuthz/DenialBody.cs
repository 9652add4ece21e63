using System.Buffers;
using System.Text.Json;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// The short JSON body of a denial, identical in both ext_authz protocols:
/// <c>{"error":"forbidden","reasons":["scope.missing"]}</c>.
/// </summary>
internal static class DenialBody
{
    public const string ContentType = "application/json";

    /// <summary>A stable, short error word per HTTP status.</summary>
    public static string ErrorFor(int statusCode) => statusCode switch
    {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        429 => "too_many_requests",
        503 => "unavailable",
        _ => statusCode >= 500 ? "server_error" : "forbidden",
    };

    /// <summary>The first reason for a header: the stable code, with its detail only when asked.</summary>
    public static string Reason(Decision decision, bool includeDetails)
    {
        if (decision.Reasons.Count == 0)
        {
            return "denied";
        }

        var reason = decision.Reasons[0];
        return includeDetails ? reason : ReasonCodes.CodeOf(reason);
    }

    /// <summary>
    /// Reason codes for the client. Without <paramref name="includeDetails"/> the parametrised part after ':' is cut
    /// (it may name policies and scopes); the stable code stays (style guide §2.5).
    /// </summary>
    public static string Create(Decision decision, bool includeDetails)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("error"u8, ErrorFor(decision.StatusCode));
            writer.WriteStartArray("reasons"u8);
            foreach (var reason in decision.Reasons)
            {
                writer.WriteStringValue(includeDetails ? reason.AsSpan() : ReasonCodes.CodeOf(reason.AsSpan()));
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
