namespace Gatehouse.Tokens;

/// <summary>
/// Reason codes the token engine needs that are not (yet) in <see cref="Decisions.ReasonCodes"/>. Proposed for
/// promotion to ReasonCodes; listed in docs/errors.md.
/// </summary>
public static class TokenReasonCodes
{
    /// <summary>A JWS whose <c>cty</c> is <c>JWT</c> (a nested JWT, RFC 7519 §5.2): not accepted.</summary>
    public const string TokenNested = "token.nested_unsupported";

    /// <summary>The key found for <c>kid</c> does not fit the token's <c>alg</c> (RFC 8725 §3.1).</summary>
    public const string TokenKeyAlgorithmMismatch = "token.key_algorithm_mismatch";
}
