using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Identity.Profiles;
using Gatehouse.Model;

namespace Gatehouse.Policy;

/// <summary>
/// One compiled condition of a rule: a field (<c>from.principals</c>, <c>when.scopes</c>, …) with any-of values, or
/// its <c>not_</c> form (none-of). A condition that could not be compiled carries <see cref="Error"/> and evaluates to
/// the fail-closed value of its policy (true in DENY policies, false otherwise).
/// </summary>
internal abstract class Condition
{
    private readonly IReadOnlyList<string> _values;

    protected Condition(string field, bool negated, IReadOnlyList<string> values)
    {
        Field = field;
        Negated = negated;
        _values = values;
    }

    /// <summary>Config field name as written: <c>from.principals</c>, <c>to.not_paths</c>, <c>when.claims.x</c>.</summary>
    public string Field { get; }

    public bool Negated { get; }

    public string? Error { get; protected set; }

    public IReadOnlyList<string> Values => _values;

    /// <summary>A positive <c>when.scopes</c> condition (its failure is reported as <c>scope.missing</c>).</summary>
    public virtual bool IsScope => false;

    public bool Evaluate(in PolicyInput input, bool failClosedValue)
    {
        if (Error is not null)
        {
            return failClosedValue;
        }

        var matched = Matches(input);
        return Negated ? !matched : matched;
    }

    /// <summary>True when any value matches; false when none does or the attribute is absent.</summary>
    protected abstract bool Matches(in PolicyInput input);

    /// <summary>What the request had for this field, for the trace (allocates; trace only).</summary>
    public abstract string Observed(in PolicyInput input);

    public string Describe() =>
        $"{Field} {(Negated ? "none of" : "any of")} [{string.Join(", ", _values)}]";

    protected static StringMatcher[] CompileMatchers(IReadOnlyList<string> values, StringComparison comparison, out string? error)
    {
        error = null;
        var matchers = new StringMatcher[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            if (!StringMatcher.TryCreate(values[i], comparison, out matchers[i], out var e))
            {
                error ??= e;
            }
        }

        if (values.Count == 0)
        {
            error = "no values";
        }

        return matchers;
    }

    protected static bool AnyMatch(StringMatcher[] matchers, ReadOnlySpan<char> value)
    {
        foreach (var matcher in matchers)
        {
            if (matcher.IsMatch(value))
            {
                return true;
            }
        }

        return false;
    }

    protected static string Show(string? value) => value is null ? "(none)" : $"'{value}'";
}

/// <summary>Glob match of one string attribute of the input.</summary>
internal sealed class StringCondition : Condition
{
    private readonly StringMatcher[] _matchers;
    private readonly Func<PolicyInput, string?> _select;

    public StringCondition(string field, bool negated, IReadOnlyList<string> values, StringComparison comparison, Func<PolicyInput, string?> select)
        : base(field, negated, values)
    {
        _matchers = CompileMatchers(values, comparison, out var error);
        Error = error;
        _select = select;
    }

    protected override bool Matches(in PolicyInput input) =>
        _select(input) is { } value && AnyMatch(_matchers, value);

    public override string Observed(in PolicyInput input) => Show(_select(input));
}

/// <summary><c>from.namespaces</c>: the <c>/ns/&lt;namespace&gt;/</c> segment of the workload's SPIFFE ID.</summary>
internal sealed class NamespaceCondition : Condition
{
    private readonly StringMatcher[] _matchers;

    public NamespaceCondition(string field, bool negated, IReadOnlyList<string> values)
        : base(field, negated, values)
    {
        _matchers = CompileMatchers(values, StringComparison.Ordinal, out var error);
        Error = error;
    }

    protected override bool Matches(in PolicyInput input) =>
        TryGetNamespace(input.Principal.Workload, out var ns) && AnyMatch(_matchers, ns);

    public override string Observed(in PolicyInput input) =>
        TryGetNamespace(input.Principal.Workload, out var ns) ? $"'{ns}'" : "(none)";

    /// <summary><c>spiffe://td/ns/NS/sa/SA</c> → NS (Istio's identity format).</summary>
    internal static bool TryGetNamespace(string? spiffeId, out ReadOnlySpan<char> ns)
    {
        ns = default;
        if (spiffeId is null || !spiffeId.StartsWith("spiffe://", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = spiffeId.AsSpan("spiffe://".Length);
        var slash = rest.IndexOf('/');
        if (slash < 0)
        {
            return false;
        }

        rest = rest[slash..];
        if (!rest.StartsWith("/ns/", StringComparison.Ordinal))
        {
            return false;
        }

        rest = rest[4..];
        var end = rest.IndexOf('/');
        ns = end < 0 ? rest : rest[..end];
        return !ns.IsEmpty;
    }
}

/// <summary>
/// <c>from.request_principals</c>: <c>iss/sub</c> of the token, matched as Istio does: the value is split at its last
/// <c>/</c> into an issuer and a subject part, each compared on its own (so a subject holding a <c>/</c>, such as a
/// SPIFFE ID, cannot make another issuer/subject pair look equal). <c>*</c> alone: any issuer and subject;
/// <c>*x</c>: with a <c>/</c>, issuer suffix (or any issuer for <c>*/sub</c>) and exact subject, else any issuer and
/// subject suffix <c>x</c>; <c>x*</c>: with a <c>/</c>, exact issuer and subject prefix (any for <c>iss/*</c>), else
/// issuer prefix <c>x</c> and any subject. "Any" means present and non-empty.
/// </summary>
internal sealed class RequestPrincipalCondition : Condition
{
    private readonly (Part Issuer, Part Subject)[] _patterns;

    public RequestPrincipalCondition(string field, bool negated, IReadOnlyList<string> values)
        : base(field, negated, values)
    {
        _patterns = [.. values.Select(Parse)];
        Error = values.Count == 0 ? "no values" : values.Any(string.IsNullOrEmpty) ? "empty value" : null;
    }

    protected override bool Matches(in PolicyInput input)
    {
        var principal = input.Principal;
        if (principal.Issuer is null || principal.Subject is null)
        {
            return false;
        }

        foreach (var (issuer, subject) in _patterns)
        {
            if (issuer.IsMatch(principal.Issuer) && subject.IsMatch(principal.Subject))
            {
                return true;
            }
        }

        return false;
    }

    public override string Observed(in PolicyInput input) =>
        input.Principal.Issuer is null || input.Principal.Subject is null
            ? "(no token)"
            : $"'{input.Principal.Issuer}/{input.Principal.Subject}'";

    // Mirrors istiod's requestPrincipalGenerator (pilot/pkg/security/authz/model/generator.go).
    private static (Part, Part) Parse(string value)
    {
        value ??= "";
        var slash = value.LastIndexOf('/');
        var (issuer, subject) = slash >= 0 ? (value[..slash], value[(slash + 1)..]) : (value, "");
        if (value == "*")
        {
            return (Part.Any, Part.Any);
        }

        if (value.StartsWith('*'))
        {
            return slash >= 0
                ? (issuer == "*" ? Part.Any : new Part(PartKind.Suffix, issuer[1..]), new Part(PartKind.Exact, subject))
                : (Part.Any, new Part(PartKind.Suffix, value[1..]));
        }

        if (value.EndsWith('*'))
        {
            return slash >= 0
                ? (new Part(PartKind.Exact, issuer), subject == "*" ? Part.Any : new Part(PartKind.Prefix, subject[..^1]))
                : (new Part(PartKind.Prefix, value[..^1]), Part.Any);
        }

        return (new Part(PartKind.Exact, issuer), new Part(PartKind.Exact, subject));
    }

    private enum PartKind
    {
        Exact,
        Prefix,
        Suffix,
        Any,
    }

    private readonly record struct Part(PartKind Kind, string Text)
    {
        public static Part Any => new(PartKind.Any, "");

        public bool IsMatch(string value) => Kind switch
        {
            PartKind.Any => value.Length > 0,
            PartKind.Prefix => value.StartsWith(Text, StringComparison.Ordinal),
            PartKind.Suffix => value.EndsWith(Text, StringComparison.Ordinal),
            _ => string.Equals(value, Text, StringComparison.Ordinal),
        };
    }
}

/// <summary><c>from.ip_blocks</c>: CIDR blocks against the source address.</summary>
internal sealed class IpCondition : Condition
{
    private readonly IpBlock[] _blocks;

    public IpCondition(string field, bool negated, IReadOnlyList<string> values)
        : base(field, negated, values)
    {
        var blocks = new List<IpBlock>(values.Count);
        foreach (var value in values)
        {
            if (IpBlock.TryParse(value, out var block, out var error))
            {
                blocks.Add(block!);
            }
            else
            {
                Error ??= error;
            }
        }

        if (values.Count == 0)
        {
            Error = "no values";
        }

        _blocks = [.. blocks];
    }

    protected override bool Matches(in PolicyInput input)
    {
        var address = input.Request.SourceAddress;
        foreach (var block in _blocks)
        {
            if (block.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    public override string Observed(in PolicyInput input) =>
        input.Request.SourceAddress is { } address ? address.ToString() : "(none)";
}

/// <summary><c>to.ports</c>: the request's destination port.</summary>
internal sealed class PortCondition : Condition
{
    private readonly int[] _ports;

    public PortCondition(string field, bool negated, IReadOnlyList<string> values)
        : base(field, negated, values)
    {
        _ports = new int[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            if (!int.TryParse(values[i], NumberStyles.None, CultureInfo.InvariantCulture, out _ports[i]) || _ports[i] is < 1 or > 65535)
            {
                Error ??= $"'{values[i]}' is not a port (1..65535)";
            }
        }

        if (values.Count == 0)
        {
            Error = "no values";
        }
    }

    protected override bool Matches(in PolicyInput input) => Array.IndexOf(_ports, input.Request.Port) >= 0;

    public override string Observed(in PolicyInput input) => input.Request.Port.ToString(CultureInfo.InvariantCulture);
}

/// <summary><c>when.scopes</c> / <c>when.roles</c>: membership in the principal's scope or role set.</summary>
internal sealed class SetCondition : Condition
{
    private readonly bool _scopes;
    private readonly StringMatcher[] _matchers;
    private readonly bool _exactOnly;

    public SetCondition(string field, bool negated, IReadOnlyList<string> values, bool scopes)
        : base(field, negated, values)
    {
        _scopes = scopes;
        _matchers = CompileMatchers(values, StringComparison.Ordinal, out var error);
        Error = error;
        _exactOnly = Array.TrueForAll(_matchers, m => m.Kind == StringMatchKind.Exact);
    }

    public override bool IsScope => _scopes && !Negated;

    protected override bool Matches(in PolicyInput input)
    {
        var set = _scopes ? input.Principal.Scopes : input.Principal.Roles;
        if (set.Count == 0)
        {
            return false;
        }

        if (_exactOnly)
        {
            foreach (var matcher in _matchers)
            {
                if (set.Contains(matcher.Value))
                {
                    return true;
                }
            }

            return false;
        }

        foreach (var item in set)
        {
            if (AnyMatch(_matchers, item))
            {
                return true;
            }
        }

        return false;
    }

    public override string Observed(in PolicyInput input)
    {
        var set = _scopes ? input.Principal.Scopes : input.Principal.Roles;
        return set.Count == 0 ? "(none)" : $"[{string.Join(", ", set.Order(StringComparer.Ordinal))}]";
    }
}

/// <summary>
/// <c>when.claims.PATH</c>: the claim at PATH (see <see cref="ClaimProfiles.TryGetClaim"/>); a string, number or
/// boolean is compared by its text (numbers and booleans by their JSON text), an array by any of its elements.
/// </summary>
internal sealed class ClaimCondition : Condition
{
    private readonly string _path;
    private readonly StringMatcher[] _matchers;
    private readonly byte[][] _utf8Values;

    public ClaimCondition(string field, bool negated, IReadOnlyList<string> values, string path)
        : base(field, negated, values)
    {
        _path = path;
        _matchers = CompileMatchers(values, StringComparison.Ordinal, out var error);
        Error = error ?? (path.Length == 0 ? "empty claim path" : null);
        _utf8Values = [.. values.Select(v => Encoding.UTF8.GetBytes(v))];
    }

    protected override bool Matches(in PolicyInput input)
    {
        if (!ClaimProfiles.TryGetClaim(input.Principal.Claims, _path, out var element))
        {
            return false;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return MatchesScalar(element);
        }

        foreach (var item in element.EnumerateArray())
        {
            if (MatchesScalar(item))
            {
                return true;
            }
        }

        return false;
    }

    private bool MatchesScalar(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                for (var i = 0; i < _matchers.Length; i++)
                {
                    var matches = _matchers[i].Kind == StringMatchKind.Exact
                        ? element.ValueEquals(_matchers[i].Value)
                        : _matchers[i].IsMatch(element.GetString());
                    if (matches)
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                var raw = JsonMarshal.GetRawUtf8Value(element);
                for (var i = 0; i < _matchers.Length; i++)
                {
                    var matches = _matchers[i].Kind == StringMatchKind.Exact
                        ? raw.SequenceEqual(_utf8Values[i])
                        : _matchers[i].IsMatch(element.GetRawText());
                    if (matches)
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    public override string Observed(in PolicyInput input) =>
        ClaimProfiles.TryGetClaim(input.Principal.Claims, _path, out var element) ? element.GetRawText() : "(absent)";
}

/// <summary>
/// <c>when.actor</c> / <c>when.actors</c> (RFC 8693 §4.1 delegation): the current actor (the outermost <c>act</c>),
/// or any actor of the chain, matched by its <c>sub</c> or its <c>client_id</c>. No delegation → no match, so the
/// <c>not_</c> forms hold for a token that names no actor.
/// </summary>
internal sealed class ActorCondition : Condition
{
    private readonly StringMatcher[] _matchers;
    private readonly bool _anyInChain;

    public ActorCondition(string field, bool negated, IReadOnlyList<string> values, bool anyInChain)
        : base(field, negated, values)
    {
        _matchers = CompileMatchers(values, StringComparison.Ordinal, out var error);
        Error = error;
        _anyInChain = anyInChain;
    }

    protected override bool Matches(in PolicyInput input)
    {
        var actors = input.Principal.Delegation.Actors;
        var count = _anyInChain ? actors.Count : Math.Min(actors.Count, 1);
        for (var i = 0; i < count; i++)
        {
            var actor = actors[i];
            if ((actor.Subject is { } sub && AnyMatch(_matchers, sub)) || (actor.ClientId is { } client && AnyMatch(_matchers, client)))
            {
                return true;
            }
        }

        return false;
    }

    public override string Observed(in PolicyInput input)
    {
        var actors = input.Principal.Delegation.Actors;
        if (actors.Count == 0)
        {
            return "(no actor)";
        }

        return _anyInChain ? $"[{string.Join(", ", actors.Select(Describe))}]" : Describe(actors[0]);
    }

    private static string Describe(Model.Actor actor) =>
        actor.Subject is not null && actor.ClientId is not null && actor.Subject != actor.ClientId
            ? $"'{actor.Subject}' (client_id '{actor.ClientId}')"
            : $"'{actor.Id}'";
}

/// <summary>A condition that could not be compiled (unknown <c>when</c> key, …): always the fail-closed value.</summary>
internal sealed class InvalidCondition : Condition
{
    public InvalidCondition(string field, bool negated, IReadOnlyList<string> values, string error)
        : base(field, negated, values)
    {
        Error = error;
    }

    protected override bool Matches(in PolicyInput input) => false;

    public override string Observed(in PolicyInput input) => "(not evaluated)";
}
