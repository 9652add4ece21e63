using Gatehouse.Http;
using Gatehouse.Model;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// The request-header mutations of an allow answer, in the form Envoy applies them. Envoy's ext_authz filter
/// (source/extensions/filters/http/ext_authz/ext_authz.cc, <c>onComplete</c>, case OK) first applies the headers to
/// set / add / append, and only then removes <c>headers_to_remove</c> (HTTP service: the names listed in
/// <c>x-envoy-auth-headers-to-remove</c>). A name that is both set and removed therefore never reaches the upstream.
/// </summary>
internal static class HeaderMutations
{
    /// <summary>
    /// The claim headers to set. Their values are percent-encoded by the engine (HeaderValues.EncodeListElement); one
    /// that is still not safe is dropped — the refusal rule (<see cref="HeaderValues.CheckedOrNull"/>) — and then
    /// removed like any unset claim header: a CR/LF must never reach Envoy, and Kestrel throws on one (a 500, which
    /// failure_mode_allow turns into an allow).
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> HeadersToSet(Decision decision)
    {
        foreach (var header in decision.UpstreamHeaders)
        {
            if (HeaderValues.IsSafe(header.Value))
            {
                yield return header;
            }
        }
    }

    /// <summary>
    /// The names to remove: the decision's removals (authorization unless forwarded, every claim header name any route
    /// sets, so a client can never spoof one) minus the names this answer sets. Those need no removal: they are sent
    /// with <c>append: false</c> (gRPC) or through <c>allowed_upstream_headers</c> (HTTP), which overwrite what the
    /// client sent. Lower-cased (Envoy matches lower-case names), without duplicates, in the decision's order.
    /// </summary>
    public static List<string> HeadersToRemove(Decision decision)
    {
        var removals = new List<string>(decision.RemoveHeaders.Count);
        foreach (var name in decision.RemoveHeaders)
        {
            var lower = name.ToLowerInvariant();
            if (!IsSet(decision, lower) && !removals.Contains(lower, StringComparer.Ordinal))
            {
                removals.Add(lower);
            }
        }

        return removals;
    }

    private static bool IsSet(Decision decision, string name)
    {
        foreach (var (header, value) in decision.UpstreamHeaders)
        {
            if (string.Equals(header, name, StringComparison.OrdinalIgnoreCase) && HeaderValues.IsSafe(value))
            {
                return true;
            }
        }

        return false;
    }
}
