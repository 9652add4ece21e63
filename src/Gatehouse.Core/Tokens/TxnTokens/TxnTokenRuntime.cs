using System.Collections.Frozen;
using Gatehouse.Configuration;

namespace Gatehouse.Tokens.TxnTokens;

/// <summary>
/// The compiled <c>txn_tokens</c> section of one snapshot: the config, the signing key ring, the minter, the issuers a
/// <c>subject_token</c> may come from, and for gateway minting the scopes each ALLOW rule names. Immutable.
/// </summary>
public sealed class TxnTokenRuntime
{
    private readonly FrozenDictionary<string, string[]> _ruleScopes;

    private TxnTokenRuntime(TxnTokensConfig config, TxnSigningKeyRing ring, IReadOnlyList<IssuerRuntime> subjectIssuers, FrozenDictionary<string, string[]> ruleScopes)
    {
        Config = config;
        Ring = ring;
        Minter = new TxnTokenMinter(config, ring);
        SubjectIssuers = subjectIssuers;
        _ruleScopes = ruleScopes;
        AllowedCallers = config.AllowedCallers.ToFrozenSet(StringComparer.Ordinal);
        JwksCacheControl = "public, max-age=" + ((long)config.JwksMaxAge.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public TxnTokensConfig Config { get; }
    public TxnSigningKeyRing Ring { get; }
    public TxnTokenMinter Minter { get; }
    /// <summary>Issuers whose access tokens are accepted as <c>subject_token</c>.</summary>
    public IReadOnlyList<IssuerRuntime> SubjectIssuers { get; }
    /// <summary>SPIFFE IDs allowed to call the token endpoint.</summary>
    public FrozenSet<string> AllowedCallers { get; }
    /// <summary>The Cache-Control value of the JWKS (<c>jwks_max_age</c>).</summary>
    public string JwksCacheControl { get; }

    /// <summary>
    /// Compiles the section; null with a reason when a key cannot be loaded (a reload then keeps the last good
    /// snapshot, a first load refuses to start).
    /// </summary>
    public static TxnTokenRuntime? Create(GatehouseConfig config, IReadOnlyDictionary<string, IssuerRuntime> issuers, out string? error)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(issuers);
        error = null;
        if (config.TxnTokens is not { } txn)
        {
            return null;
        }

        var ring = TxnSigningKeyRing.Load(txn, out error);
        if (ring is null)
        {
            return null;
        }

        var subject = new List<IssuerRuntime>();
        foreach (var (name, runtime) in issuers)
        {
            if (txn.SubjectIssuers.Count == 0 || txn.SubjectIssuers.Contains(name))
            {
                subject.Add(runtime);
            }
        }

        // Gateway minting narrows scope to what the deciding ALLOW rule asked for (docs/txn-tokens.md, "scope").
        var ruleScopes = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (policyName, policy) in config.Policies)
        {
            if (policy.Action != PolicyAction.Allow)
            {
                continue;
            }

            for (var i = 0; i < policy.Rules.Count; i++)
            {
                var scopes = policy.Rules[i].When
                    .Where(w => !w.Negated && w.Key == "scopes")
                    .SelectMany(w => w.Values)
                    .Distinct(StringComparer.Ordinal)
                    .ToArray();
                ruleScopes[$"{policyName}/rule{i}"] = scopes;
            }
        }

        return new TxnTokenRuntime(txn, ring, subject, ruleScopes.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// The scope of a gateway-minted token: the token's scopes that the route's <c>required_scopes</c> or the deciding
    /// ALLOW rule's <c>when.scopes</c> name — never a scope the external token lacks, never one the policy did not ask
    /// for. Space-separated, route scopes first, then the rule's, in config order; empty when the policy named none.
    /// </summary>
    public string NarrowScope(IReadOnlySet<string> tokenScopes, IReadOnlyList<string> routeRequired, string? decidingRule)
    {
        ArgumentNullException.ThrowIfNull(tokenScopes);
        ArgumentNullException.ThrowIfNull(routeRequired);
        var ruleScopes = decidingRule is not null && _ruleScopes.TryGetValue(decidingRule, out var named) ? named : [];
        if (tokenScopes.Count == 0 || (routeRequired.Count == 0 && ruleScopes.Length == 0))
        {
            return "";
        }

        // Note: the common cases (one scope named, or none held) allocate nothing beyond the result.
        string? single = null;
        System.Text.StringBuilder? builder = null;
        for (var i = 0; i < routeRequired.Count + ruleScopes.Length; i++)
        {
            var scope = i < routeRequired.Count ? routeRequired[i] : ruleScopes[i - routeRequired.Count];
            if (!tokenScopes.Contains(scope) || IsListedBefore(routeRequired, ruleScopes, i, scope))
            {
                continue;
            }

            if (single is null)
            {
                single = scope;
            }
            else
            {
                builder ??= new System.Text.StringBuilder(single);
                builder.Append(' ').Append(scope);
            }
        }

        return builder?.ToString() ?? single ?? "";
    }

    private static bool IsListedBefore(IReadOnlyList<string> first, string[] second, int index, string scope)
    {
        for (var j = 0; j < index; j++)
        {
            var earlier = j < first.Count ? first[j] : second[j - first.Count];
            if (string.Equals(earlier, scope, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
