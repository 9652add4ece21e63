namespace Gatehouse.Configuration;

/// <summary>The JWS algorithms a DPoP proof may use (RFC 9449 §4.3 step 5: asymmetric only, never <c>none</c> or HMAC).</summary>
public static class DpopAlgorithms
{
    /// <summary>Ed25519 (RFC 8037 §3.1).</summary>
    public const string EdDsa = "EdDSA";

    /// <summary>Every algorithm Gatehouse can verify a proof with.</summary>
    public static readonly IReadOnlyList<string> Supported =
        ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", EdDsa];

    /// <summary>The default allow-list of <c>listeners[].dpop.algorithms</c>.</summary>
    public static readonly IReadOnlyList<string> Default = ["ES256", "PS256", "RS256", EdDsa];

    /// <summary>True for an algorithm Gatehouse can verify.</summary>
    public static bool IsSupported(string alg)
    {
        foreach (var candidate in Supported)
        {
            if (string.Equals(candidate, alg, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
