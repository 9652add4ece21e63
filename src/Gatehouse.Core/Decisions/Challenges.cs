using Gatehouse.Http;
using Gatehouse.Model;

namespace Gatehouse.Decisions;

/// <summary>Builds RFC 6750 §3 <c>WWW-Authenticate</c> challenges.</summary>
public static class Challenges
{
    public const string Realm = "gatehouse";

    /// <summary>No credential offered: RFC 6750 §3.1 says the challenge SHOULD NOT carry an error code.</summary>
    public static readonly string Missing = $"Bearer realm=\"{Realm}\"";

    /// <summary>401: the token is expired, revoked, malformed, or invalid for other reasons (RFC 6750 §3.1).</summary>
    /// <remarks>
    /// <c>error_description</c> carries the reason <b>code</b> only. Note: the challenge reaches the client in every
    /// mode (ext_authz passes it through Envoy), so the <c>:detail</c> part, which may name policies and rules, is
    /// left out here as it is from ext_authz denial bodies without <c>include_error_details</c>.
    /// </remarks>
    public static string InvalidToken(string reason) =>
        $"Bearer realm=\"{Realm}\", error=\"invalid_token\", error_description=\"{Sanitize(ReasonCodes.CodeOf(reason))}\"";

    /// <summary>
    /// 403: the token lacks the privileges the resource needs (RFC 6750 §3.1), with the needed scope when known
    /// (the <c>scope</c> attribute of RFC 6750 §3). <c>error_description</c> is the reason code only, as in <see cref="InvalidToken"/>.
    /// </summary>
    public static string InsufficientScope(string reason, string? scope)
    {
        var challenge = $"Bearer realm=\"{Realm}\", error=\"insufficient_scope\", error_description=\"{Sanitize(ReasonCodes.CodeOf(reason))}\"";
        return scope is null ? challenge : challenge + $", scope=\"{Sanitize(scope)}\"";
    }

    // RFC 6750 §3: error_description and scope values use %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash);
    // anything else is percent-encoded by the one header-value encoder.
    private static string Sanitize(string value) => HeaderValues.EncodeAuthParam(value);
}
