using Gatehouse.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Gateway;

/// <summary>
/// Removes, before the decision and before forwarding, request headers an upstream may trust though any caller can
/// send them (<c>listeners[].strip_untrusted_headers</c>, <c>listeners[].headers_with_underscores</c>). The policy
/// and the upstream then see the same request: a header the upstream never receives is one no policy can match.
/// </summary>
internal static class UntrustedHeaders
{
    // Method and URL overrides: frameworks that honour them (ASP.NET's HttpMethodOverride, Symfony, Laravel, IIS URL
    // Rewrite) run another method or path than the one the policy authorized.
    private static readonly string[] s_overrides =
    [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-url",
        "x-rewrite-url",
    ];

    /// <summary>
    /// Applies the listener's rules to <paramref name="headers"/>. Returns null when the request may continue, or the
    /// name of the header that makes it refused (<see cref="UnderscoreHeaderAction.Reject"/>).
    /// </summary>
    public static string? Apply(IHeaderDictionary headers, ListenerConfig listener)
    {
        var strip = listener.StripUntrustedHeaders;
        var underscores = listener.HeadersWithUnderscores;
        if (!strip && underscores == UnderscoreHeaderAction.Allow)
        {
            return null;
        }

        List<string>? remove = null;
        foreach (var (name, _) in headers)
        {
            if (strip && IsUntrusted(name))
            {
                (remove ??= []).Add(name);
            }
            else if (underscores != UnderscoreHeaderAction.Allow && name.Contains('_', StringComparison.Ordinal))
            {
                if (underscores == UnderscoreHeaderAction.Reject)
                {
                    return name;
                }

                (remove ??= []).Add(name);
            }
        }

        if (remove is not null)
        {
            foreach (var name in remove)
            {
                headers.Remove(name);
            }
        }

        return null;
    }

    /// <summary>True for <c>x-envoy-*</c> and the method/URL override headers (names compared case-insensitively).</summary>
    public static bool IsUntrusted(string name)
    {
        if (name.StartsWith("x-envoy-", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var candidate in s_overrides)
        {
            if (string.Equals(name, candidate, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
