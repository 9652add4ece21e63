using System.Text.Json;

namespace Gatehouse.Model;

/// <summary>
/// Who a request runs as: the workload (mTLS SPIFFE ID), and, when a token was presented, the subject, client,
/// scopes, roles and claims mapped through the issuer's claim profile, and the delegation chain. Immutable.
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
    /// <summary>
    /// The delegation chain from nested <c>act</c> claims (RFC 8693 §4.1), current actor first;
    /// <see cref="ActorChain.None"/> when the token names no actor.
    /// </summary>
    public ActorChain Delegation { get; init; } = ActorChain.None;

    /// <summary>The actors of <see cref="Delegation"/>, current (outermost <c>act</c>) first.</summary>
    public IReadOnlyList<Actor> Actors => Delegation.Actors;
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
        Delegation = Delegation,
    };

    private static readonly IReadOnlySet<string> EmptySet = new HashSet<string>(StringComparer.Ordinal);
}
