using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Model;

namespace Gatehouse.Identity.Profiles;

/// <summary>
/// Builds a <see cref="Principal"/> from validated claims (a JWT payload or an RFC 7662 introspection response)
/// according to the issuer's claim profile: where the provider keeps scopes, roles and the client id.
/// See docs/policy.md for the table.
/// </summary>
public static class ClaimProfiles
{
    /// <summary>Profile names accepted in <c>issuers.NAME.profile</c>.</summary>
    public static readonly IReadOnlyList<string> Names = ["generic", "okta", "auth0", "keycloak", "entra", "cognito"];

    private const int MaxPathDepth = 32;

    /// <summary>True when <paramref name="profile"/> is a known profile name (case-insensitive).</summary>
    public static bool IsKnown(string? profile) =>
        profile is not null && Names.Contains(profile.ToLowerInvariant());

    /// <summary>
    /// Builds the principal. <paramref name="claims"/> must be a JSON object and must stay readable for the lifetime
    /// of the principal (it is kept as <see cref="Principal.Claims"/> for <c>claims.*</c> conditions and claim headers).
    /// An unknown profile is read as <c>generic</c>.
    /// </summary>
    public static Principal CreatePrincipal(JsonElement claims, IssuerConfig issuer, string? workload)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        if (claims.ValueKind != JsonValueKind.Object)
        {
            return new Principal { Workload = workload, Issuer = issuer.Issuer, IssuerName = issuer.Name };
        }

        var profile = (issuer.Profile ?? "generic").ToLowerInvariant();
        var scopes = new HashSet<string>(StringComparer.Ordinal);
        var roles = new HashSet<string>(StringComparer.Ordinal);

        // Scopes: every profile reads `scope` (RFC 8693 §4.2 / RFC 7662 §2.2: space-delimited string) and `scp`
        // (string or array: Okta, Entra, some Keycloak/Spring setups).
        AddValues(claims, "scope", scopes, splitSpaces: true);
        AddValues(claims, "scp", scopes, splitSpaces: true);

        string? clientId;
        switch (profile)
        {
            case "okta":
                AddValues(claims, "groups", roles, splitSpaces: false);
                clientId = FirstString(claims, "cid", "client_id", "azp");
                break;
            case "auth0":
                // RBAC "Add Permissions in the Access Token" puts API permissions in `permissions`; roles only via
                // role_mappings (Auth0 roles reach the token only through a namespaced custom claim).
                AddValues(claims, "permissions", scopes, splitSpaces: false);
                clientId = FirstString(claims, "azp", "client_id");
                break;
            case "keycloak":
                AddPath(claims, "realm_access.roles", roles);
                var client = issuer.ProfileClient ?? FirstString(claims, "azp");
                if (!string.IsNullOrEmpty(client)
                    && claims.TryGetProperty("resource_access", out var resourceAccess)
                    && resourceAccess.ValueKind == JsonValueKind.Object
                    && resourceAccess.TryGetProperty(client, out var clientAccess)
                    && clientAccess.ValueKind == JsonValueKind.Object
                    && clientAccess.TryGetProperty("roles", out var clientRoles))
                {
                    AddElement(clientRoles, roles, splitSpaces: false);
                }

                clientId = FirstString(claims, "azp", "client_id");
                break;
            case "entra":
                AddValues(claims, "roles", roles, splitSpaces: false);
                clientId = FirstString(claims, "azp", "appid", "client_id");
                break;
            case "cognito":
                AddValues(claims, "cognito:groups", roles, splitSpaces: false);
                clientId = FirstString(claims, "client_id", "azp");
                break;
            default:
                AddValues(claims, "roles", roles, splitSpaces: false);
                clientId = FirstString(claims, "client_id", "azp", "cid", "appid");
                break;
        }

        foreach (var mapping in issuer.RoleMappings)
        {
            ApplyRoleMapping(claims, mapping, roles);
        }

        return new Principal
        {
            Workload = workload,
            Issuer = FirstString(claims, "iss") ?? issuer.Issuer,
            IssuerName = issuer.Name,
            Subject = FirstString(claims, "sub"),
            ClientId = clientId,
            Scopes = scopes,
            Roles = roles,
            Claims = claims,
            Delegation = ActorChain.Parse(claims),
        };
    }

    /// <summary>
    /// Finds a claim by a dotted path through nested objects (<c>realm_access.roles</c>). Keys that themselves contain
    /// dots or colons need no escaping: at each level the longest key that matches the remaining path wins, so
    /// <c>cognito:groups</c>, <c>https://example.com/roles</c> and <c>resource_access.my.app.roles</c> (client
    /// <c>my.app</c>) all resolve. Arrays are not traversed (conditions test any element of a final array).
    /// </summary>
    public static bool TryGetClaim(JsonElement claims, string dottedPath, out JsonElement value)
    {
        value = default;
        if (claims.ValueKind != JsonValueKind.Object || string.IsNullOrEmpty(dottedPath))
        {
            return false;
        }

        return TryWalk(claims, dottedPath.AsSpan(), 0, out value);
    }

    private static bool TryWalk(JsonElement current, ReadOnlySpan<char> path, int depth, out JsonElement value)
    {
        value = default;
        if (depth > MaxPathDepth || current.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        // Longest key first: the whole remaining path, then shorter prefixes ending before a dot.
        var length = path.Length;
        while (length > 0)
        {
            if (current.TryGetProperty(path[..length], out var child))
            {
                if (length == path.Length)
                {
                    value = child;
                    return true;
                }

                if (TryWalk(child, path[(length + 1)..], depth + 1, out value))
                {
                    return true;
                }
            }

            length = path[..length].LastIndexOf('.');
        }

        return false;
    }

    private static void ApplyRoleMapping(JsonElement claims, RoleMappingConfig mapping, HashSet<string> roles)
    {
        if (string.IsNullOrEmpty(mapping.Claim) || !TryGetClaim(claims, mapping.Claim, out var element))
        {
            return;
        }

        // `value: "*"` with `role: "*"` copies every value of the claim as a role (namespaced Auth0 roles claim).
        if (mapping.Value == "*" && mapping.Role == "*")
        {
            AddElement(element, roles, splitSpaces: false);
            return;
        }

        if (string.IsNullOrEmpty(mapping.Role))
        {
            return;
        }

        if (ContainsValue(element, mapping.Value))
        {
            roles.Add(mapping.Role);
        }
    }

    private static bool ContainsValue(JsonElement element, string expected)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return element.ValueEquals(expected);
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                return element.GetRawText() == expected;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Array && ContainsValue(item, expected))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private static void AddPath(JsonElement claims, string path, HashSet<string> target)
    {
        if (TryGetClaim(claims, path, out var element))
        {
            AddElement(element, target, splitSpaces: false);
        }
    }

    private static void AddValues(JsonElement claims, string name, HashSet<string> target, bool splitSpaces)
    {
        if (claims.TryGetProperty(name, out var element))
        {
            AddElement(element, target, splitSpaces);
        }
    }

    private static void AddElement(JsonElement element, HashSet<string> target, bool splitSpaces)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                var text = element.GetString()!;
                if (splitSpaces)
                {
                    foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        target.Add(part);
                    }
                }
                else if (text.Length > 0)
                {
                    target.Add(text);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String && item.GetString() is { Length: > 0 } value)
                    {
                        target.Add(value);
                    }
                }

                break;
        }
    }

    private static string? FirstString(JsonElement claims, params ReadOnlySpan<string> names)
    {
        foreach (var name in names)
        {
            if (claims.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String
                && element.GetString() is { Length: > 0 } value)
            {
                return value;
            }
        }

        return null;
    }
}
