using System.Text.Json;
using Gatehouse.Configuration;

namespace Gatehouse.Tokens.Jwt;

/// <summary>Audience check: any-of the issuer's audiences against <c>aud</c> (RFC 7519 §4.1.3).</summary>
internal static class AudienceRules
{
    public static bool Matches(JsonElement aud, string? clientId, IssuerConfig issuer)
    {
        var audiences = issuer.Audiences;
        switch (aud.ValueKind)
        {
            case JsonValueKind.String:
                return Contains(audiences, aud.GetString());
            case JsonValueKind.Array:
                foreach (var a in aud.EnumerateArray())
                {
                    if (a.ValueKind == JsonValueKind.String && Contains(audiences, a.GetString()))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Undefined:
                // Amazon Cognito access tokens carry no aud but client_id; the cognito profile accepts client_id.
                return string.Equals(issuer.Profile, "cognito", StringComparison.OrdinalIgnoreCase) && Contains(audiences, clientId);
            default:
                return false;
        }
    }

    /// <summary>The same rule for a JWT's <c>aud</c> as read by <see cref="JwtParser"/>.</summary>
    public static bool Matches(in JwtAudience aud, string? clientId, IssuerConfig issuer)
    {
        var audiences = issuer.Audiences;
        if (aud.Values is { } values)
        {
            foreach (var a in values)
            {
                if (Contains(audiences, a))
                {
                    return true;
                }
            }

            return false;
        }

        return aud.Single is { } single
            ? Contains(audiences, single)
            : string.Equals(issuer.Profile, "cognito", StringComparison.OrdinalIgnoreCase) && Contains(audiences, clientId);
    }

    private static bool Contains(IReadOnlyList<string> audiences, string? value)
    {
        if (value is null)
        {
            return false;
        }

        for (var i = 0; i < audiences.Count; i++)
        {
            if (string.Equals(audiences[i], value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
