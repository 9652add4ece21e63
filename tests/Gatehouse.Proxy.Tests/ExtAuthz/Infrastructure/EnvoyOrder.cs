using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;

namespace Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;

/// <summary>
/// Applies an ext_authz allow answer to the original request headers the way Envoy does, so tests check what the
/// upstream really receives rather than the answer's fields one by one. Order, from Envoy's
/// source/extensions/filters/http/ext_authz/ext_authz.cc (<c>Filter::onComplete</c>, case OK): headers to set
/// (<c>setCopy</c>: replace), headers to add (<c>addCopy</c>), headers to append — and only then
/// <c>headers_to_remove</c>, skipping pseudo-headers and Host (<c>HeaderUtility::isRemovableHeader</c>).
/// The HTTP service's answer is read as source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc
/// (<c>RawHttpClientImpl::toResponse</c>) does: any 5xx is an error (no mutation; failure_mode_allow decides), and on
/// 200 the names in <c>x-envoy-auth-headers-to-remove</c> (comma-split, trimmed) are removed after the response
/// headers matching <c>allowed_upstream_headers</c> were set.
/// </summary>
internal static class EnvoyOrder
{
    /// <summary>Request headers as Envoy holds them: lower-case names, each with its values in order.</summary>
    public static Dictionary<string, List<string>> Headers(IEnumerable<KeyValuePair<string, string>> headers)
    {
        var map = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var key = name.ToLowerInvariant();
            if (!map.TryGetValue(key, out var values))
            {
                map[key] = values = [];
            }

            values.Add(value);
        }

        return map;
    }

    /// <summary>The gRPC service's <c>OkHttpResponse</c>, applied to <paramref name="request"/>.</summary>
    public static Dictionary<string, List<string>> ApplyGrpc(IEnumerable<KeyValuePair<string, string>> request, OkHttpResponse ok)
    {
        var headers = Headers(request);
        // ext_authz_grpc_impl.cc: append false (or unset with the default append action) → headers_to_set; append
        // true → headers_to_add.
        foreach (var option in ok.Headers)
        {
            var key = option.Header.Key.ToLowerInvariant();
            if (option.Append == true)
            {
                Add(headers, key, option.Header.Value);
            }
            else
            {
                headers[key] = [option.Header.Value];
            }
        }

        Remove(headers, ok.HeadersToRemove);
        return headers;
    }

    /// <summary>
    /// The HTTP service's answer applied to <paramref name="request"/>; null when Envoy would treat the answer as an
    /// error (5xx) or a denial (any status but 200).
    /// </summary>
    public static Dictionary<string, List<string>>? ApplyHttp(
        IEnumerable<KeyValuePair<string, string>> request, HttpResponseMessage response, Func<string, bool> allowedUpstreamHeader)
    {
        var status = (int)response.StatusCode;
        if (status != 200)
        {
            return null;
        }

        var headers = Headers(request);
        var removals = new List<string>();
        foreach (var (name, values) in response.Headers)
        {
            var key = name.ToLowerInvariant();
            if (key == ExtAuthzHttpHandler.HeadersToRemoveHeader)
            {
                removals.AddRange(values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Select(v => v.ToLowerInvariant()));
                continue;
            }

            if (allowedUpstreamHeader(key))
            {
                headers[key] = [.. values];
            }
        }

        Remove(headers, removals);
        return headers;
    }

    private static void Add(Dictionary<string, List<string>> headers, string key, string value)
    {
        if (!headers.TryGetValue(key, out var values))
        {
            headers[key] = values = [];
        }

        values.Add(value);
    }

    private static void Remove(Dictionary<string, List<string>> headers, IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            if (name.StartsWith(':') || name == "host")
            {
                continue;
            }

            headers.Remove(name.ToLowerInvariant());
        }
    }
}
