using System.Collections.Frozen;
using Gatehouse.Configuration;

namespace Gatehouse.Tokens.Dpop;

/// <summary>
/// The DPoP settings of one listener (<c>listeners[].dpop</c>), compiled into the config snapshot. Immutable. A
/// listener without a <c>dpop</c> block uses the defaults: DPoP-bound tokens are verified on every listener, the
/// block only tunes how.
/// </summary>
public sealed class DpopSettings
{
    private DpopSettings(string listener, DpopConfig config, IReadOnlyList<DpopOrigin> origins)
    {
        Listener = listener;
        Config = config;
        Algorithms = config.Algorithms.ToFrozenSet(StringComparer.Ordinal);
        AlgorithmsChallenge = string.Join(' ', config.Algorithms);
        Origins = origins;
    }

    /// <summary>The defaults, for requests without a listener (<c>gatehouse explain</c>) and listeners without <c>dpop</c>.</summary>
    public static DpopSettings Default { get; } = Create("", new DpopConfig());

    /// <summary>The listener name (part of the nonce derivation, so listeners never accept each other's nonces).</summary>
    public string Listener { get; }

    /// <summary>The configuration these settings were compiled from.</summary>
    public DpopConfig Config { get; }

    /// <summary>Accepted proof algorithms (RFC 9449 §4.3 step 5: asymmetric only).</summary>
    public FrozenSet<string> Algorithms { get; }

    /// <summary>The <c>algs</c> challenge parameter (RFC 9449 §7.1): the allow-list, space-separated.</summary>
    public string AlgorithmsChallenge { get; }

    /// <summary>Extra origins an <c>htu</c> may name (the client-facing URL when a TLS terminator sits in front).</summary>
    public IReadOnlyList<DpopOrigin> Origins { get; }

    /// <summary>Compiles <paramref name="config"/> (already validated by <c>check</c>).</summary>
    public static DpopSettings Create(string listener, DpopConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var origins = new List<DpopOrigin>(config.Origins.Count);
        foreach (var origin in config.Origins)
        {
            // Note: validated configs only hold parseable origins; anything else is skipped (fewer origins only
            // refuses more proofs).
            if (DpopHtu.TryParse(origin, out var parsed, out _) && parsed.RawPath == "/")
            {
                origins.Add(parsed.Origin);
            }
        }

        return new DpopSettings(listener, config, origins);
    }
}
