using System.Text.Json;

namespace Gatehouse.Model;

/// <summary>
/// One party in a delegation chain (RFC 8693 §4.1): the identity claims of one <c>act</c> object. At least one of
/// <see cref="Subject"/> and <see cref="ClientId"/> is set.
/// </summary>
/// <param name="Subject">The actor's <c>sub</c>.</param>
/// <param name="ClientId">The actor's <c>client_id</c> (RFC 8693 §4.3), which some STSs put in <c>act</c> instead of or besides <c>sub</c>.</param>
/// <param name="Issuer">The actor's <c>iss</c>, when the STS names the issuer of the actor's identity (RFC 8693 §4.1).</param>
public sealed record Actor(string? Subject, string? ClientId, string? Issuer)
{
    /// <summary>How the actor is shown (explain, audit summaries, metadata): <c>sub</c>, else <c>client_id</c>.</summary>
    public string Id => Subject ?? ClientId ?? "";
}

/// <summary>
/// The delegation chain of a token (RFC 8693 §4.1): the nested <c>act</c> claims, read into a list whose first
/// element is the <b>current</b> actor (the outermost <c>act</c>) and whose later elements are the prior actors,
/// most recent first. <c>may_act</c> (RFC 8693 §4.4) says who <i>may</i> act and is not part of a chain.
/// Immutable; read once per verified token (the principal is cached with it).
/// </summary>
/// <remarks>
/// Fail closed: a chain that cannot be read completely is never shortened into a valid-looking one. A malformed
/// <c>act</c> sets <see cref="Error"/> (the request is refused with <c>token.act_invalid</c>), and nesting deeper
/// than <see cref="MaxParseDepth"/> sets <see cref="TooDeep"/> (refused with <c>token.delegation_too_deep</c>), so
/// an actor hidden below the bound can never escape a <c>not_actors</c> condition.
/// </remarks>
public sealed class ActorChain
{
    /// <summary>
    /// Deepest nesting read. A chain deeper than this is refused whatever the route allows; it also bounds the work
    /// a hostile token can cause. Routes can only lower it (<c>authentication.max_delegation_depth</c>).
    /// </summary>
    public const int MaxParseDepth = 16;

    private const int MaxIdLength = 1024;

    /// <summary>No <c>act</c> claim: the subject acts for itself.</summary>
    public static ActorChain None { get; } = new([], null, tooDeep: false);

    private ActorChain(IReadOnlyList<Actor> actors, string? error, bool tooDeep)
    {
        Actors = actors;
        Error = error;
        TooDeep = tooDeep;
    }

    /// <summary>The actors, current (outermost <c>act</c>) first. Empty when the token names no actor.</summary>
    public IReadOnlyList<Actor> Actors { get; }

    /// <summary>Number of actors (0 without delegation).</summary>
    public int Depth => Actors.Count;

    /// <summary>The current actor (RFC 8693 §4.1: the outermost <c>act</c>), or null.</summary>
    public Actor? Current => Actors.Count > 0 ? Actors[0] : null;

    /// <summary>
    /// Why the chain is malformed, as <c>PATH:PROBLEM</c> (e.g. <c>act.act:not_an_object</c>,
    /// <c>act.sub:not_a_string</c>); null when it is well formed.
    /// </summary>
    public string? Error { get; }

    /// <summary>The token nests <c>act</c> deeper than <see cref="MaxParseDepth"/>.</summary>
    public bool TooDeep { get; }

    /// <summary>True when the chain can be used for decisions (well formed and within <see cref="MaxParseDepth"/>).</summary>
    public bool IsUsable => Error is null && !TooDeep;

    /// <summary>Reads the chain from validated claims (a JWT payload or an RFC 7662 introspection response).</summary>
    public static ActorChain Parse(JsonElement claims)
    {
        if (claims.ValueKind != JsonValueKind.Object || !claims.TryGetProperty("act", out var act))
        {
            return None;
        }

        var actors = new List<Actor>(2);
        var path = "act";
        while (true)
        {
            if (actors.Count == MaxParseDepth)
            {
                return new ActorChain(actors, null, tooDeep: true);
            }

            // RFC 8693 §4.1: "The value of the act claim is a JSON object".
            if (act.ValueKind != JsonValueKind.Object)
            {
                return Malformed(actors, path, "not_an_object");
            }

            if (ReadString(act, "sub", out var sub) is { } subProblem)
            {
                return Malformed(actors, path + ".sub", subProblem);
            }

            if (ReadString(act, "client_id", out var clientId) is { } clientIdProblem)
            {
                return Malformed(actors, path + ".client_id", clientIdProblem);
            }

            if (ReadString(act, "iss", out var iss) is { } issProblem)
            {
                return Malformed(actors, path + ".iss", issProblem);
            }

            // The members of act identify the actor; an act that identifies no one cannot be matched by policy.
            if (sub is null && clientId is null)
            {
                return Malformed(actors, path, "no_sub_or_client_id");
            }

            actors.Add(new Actor(sub, clientId, iss));
            if (!act.TryGetProperty("act", out var next))
            {
                return new ActorChain(actors, null, tooDeep: false);
            }

            act = next;
            path += ".act";
        }
    }

    private static ActorChain Malformed(List<Actor> actors, string path, string problem) =>
        new(actors, path + ":" + problem, tooDeep: false);

    /// <summary>
    /// Reads an identity member: absent → null value and no problem; a non-empty string of at most
    /// <see cref="MaxIdLength"/> characters → its value; otherwise the problem (<c>not_a_string</c>, <c>empty</c>,
    /// <c>too_long</c>).
    /// </summary>
    private static string? ReadString(JsonElement obj, string name, out string? value)
    {
        value = null;
        if (!obj.TryGetProperty(name, out var element))
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return "not_a_string";
        }

        var text = element.GetString()!;
        if (text.Length == 0)
        {
            return "empty";
        }

        if (text.Length > MaxIdLength)
        {
            return "too_long";
        }

        value = text;
        return null;
    }
}
