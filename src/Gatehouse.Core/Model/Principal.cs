using System.Text.Json;

namespace Gatehouse.Model;

/// <summary>
/// Who a request runs as: the workload (mTLS SPIFFE ID), and, when a token was presented, the subject, client,
/// scopes, roles and claims mapped through the issuer's claim profile. Immutable.
/// </summary>
public sealed class Principal
{
    public static readonly Principal Anonymous = new();

    public string? Workload { get; init; }
    public string? Issuer { get; init; }
    public string? IssuerName { get; init; }
    public string? Subject { get; init; }
    public string? ClientId { get; init; }
    public IReadOnlySet<string> Scopes { get; init; } = EmptySet;
    public IReadOnlySet<string> Roles { get; init; } = EmptySet;
    /// <summary>The token's claims (JWT payload or introspection response).</summary>
    public JsonElement Claims { get; init; }
    /// <summary>Actor chain from nested <c>act</c> claims (RFC 8693 §4.1), outermost first.</summary>
    public IReadOnlyList<string> Actors { get; init; } = [];
    public bool HasToken => Issuer is not null;

    /// <summary>This principal as seen from a connection whose verified workload identity is <paramref name="workload"/>.</summary>
    public Principal WithWorkload(string? workload) => workload == Workload ? this : new Principal
    {
        Workload = workload,
        Issuer = Issuer,
        IssuerName = IssuerName,
        Subject = Subject,
        ClientId = ClientId,
        Scopes = Scopes,
        Roles = Roles,
        Claims = Claims,
        Actors = Actors,
    };

    private static readonly IReadOnlySet<string> EmptySet = new HashSet<string>(StringComparer.Ordinal);
}
