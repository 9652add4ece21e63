namespace Gatehouse.Model;

/// <summary>
/// Stable machine codes carried by every decision (logs, audit, responses, ext_authz). Listed in docs/errors.md.
/// Codes never change meaning once published; parametrised reasons append <c>:detail</c>
/// (e.g. <c>scope.missing:orders.write</c>, <c>policy.deny_matched:block-admin/rule0</c>).
/// </summary>
public static class ReasonCodes
{
    /// <summary>
    /// The stable code of a reason, without its <c>:detail</c> — what callers are told, since a detail may name
    /// policies, rules and scopes (audit records and logs keep the whole reason).
    /// </summary>
    public static string CodeOf(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var colon = reason.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? reason : reason[..colon];
    }

    /// <summary><see cref="CodeOf(string)"/> without allocating.</summary>
    public static ReadOnlySpan<char> CodeOf(ReadOnlySpan<char> reason)
    {
        var colon = reason.IndexOf(':');
        return colon < 0 ? reason : reason[..colon];
    }

    // Request shape
    public const string RouteNotFound = "route.not_found";
    public const string PathInvalid = "request.path_invalid";
    public const string PathAmbiguous = "request.path_ambiguous";
    /// <summary>The request body could not be read while forwarding (malformed chunked framing, truncated body): 400.</summary>
    public const string RequestBodyInvalid = "request.body_invalid";
    /// <summary>A request header name contains '_' on a listener with <c>headers_with_underscores: reject</c>: 400.</summary>
    public const string HeaderWithUnderscore = "request.header_with_underscore";

    // Credentials
    public const string TokenMissing = "token.missing";
    public const string TokenMalformed = "token.malformed";
    public const string TokenTooLarge = "token.too_large";
    public const string AuthorizationHeaderInvalid = "token.authorization_header_invalid";
    public const string TokenSignatureInvalid = "token.signature_invalid";
    public const string TokenExpired = "token.expired";
    public const string TokenNotYetValid = "token.not_yet_valid";
    public const string TokenIssuedInFuture = "token.issued_in_future";
    public const string TokenExpirationMissing = "token.exp_missing";
    public const string TokenIssuerUnknown = "token.issuer_unknown";
    public const string TokenAudienceMismatch = "token.audience_mismatch";
    /// <summary>A JWS whose <c>cty</c> is <c>JWT</c> (a nested JWT, RFC 7519 §5.2): not accepted.</summary>
    public const string TokenNested = "token.nested_unsupported";
    /// <summary>The key found for <c>kid</c> does not fit the token's <c>alg</c> (RFC 8725 §3.1).</summary>
    public const string TokenKeyAlgorithmMismatch = "token.key_algorithm_mismatch";
    /// <summary>A {tenantid} issuer's token whose <c>tid</c> claim does not name the tenant in its <c>iss</c>.</summary>
    public const string TokenTenantMismatch = "token.tenant_mismatch";
    public const string TokenAlgorithmNotAllowed = "token.algorithm_not_allowed";
    public const string TokenKeyUnknown = "token.kid_unknown";
    public const string TokenTypeMismatch = "token.type_mismatch";
    public const string TokenCriticalHeaderUnsupported = "token.crit_unsupported";
    public const string TokenEncrypted = "token.encrypted_unsupported";
    public const string TokenNotCanonical = "token.encoding_not_canonical";
    public const string TokenDuplicateClaim = "token.duplicate_member";
    public const string TokenInactive = "token.inactive";
    public const string TokenBindingMismatch = "token.binding_mismatch";
    public const string TokenBindingRequired = "token.binding_required";
    public const string TokenInvalid = "token.invalid";
    /// <summary>
    /// An <c>act</c> claim (RFC 8693 §4.1) that cannot be read as a delegation chain: not an object, an identity
    /// member that is not a non-empty string, or an actor with neither <c>sub</c> nor <c>client_id</c>. The detail is
    /// <c>PATH:PROBLEM</c>, e.g. <c>token.act_invalid:act.act:not_an_object</c>.
    /// </summary>
    public const string TokenActInvalid = "token.act_invalid";
    /// <summary>
    /// The delegation chain is longer than the route's <c>authentication.max_delegation_depth</c> (or than the
    /// parse bound, 16). Detail: <c>depth_N_exceeds_M</c>.
    /// </summary>
    public const string TokenDelegationTooDeep = "token.delegation_too_deep";

    // Transaction Tokens (draft-ietf-oauth-transaction-tokens-10; docs/txn-tokens.md)
    /// <summary>The <c>txn-token</c> header's JOSE <c>typ</c> is not exactly <c>txntoken+jwt</c> (§4.1): an access token there is refused.</summary>
    public const string TxnTokenTypeInvalid = "txn_token.typ_invalid";
    /// <summary>A Txn-Token presented in <c>Authorization</c>: it is accepted only from the <c>txn-token</c> header (§8).</summary>
    public const string TxnTokenInAuthorization = "txn_token.in_authorization";
    /// <summary>A Txn-Token lives longer (<c>iat</c> → <c>exp</c>) than the issuer's <c>max_lifetime</c>.</summary>
    public const string TxnTokenLifetimeExceeded = "txn_token.lifetime_exceeded";
    /// <summary>A claim §4.2 makes REQUIRED is absent or not a non-empty string/number; the detail names it (<c>txn</c>, <c>iat</c>).</summary>
    public const string TxnTokenClaimMissing = "txn_token.claim_missing";
    /// <summary>The <c>txn-token</c> header is repeated (several values) or empty.</summary>
    public const string TxnTokenHeaderInvalid = "txn_token.header_invalid";
    /// <summary>An outbound route asks for a replacement Txn-Token and the request carries none (or none verified at this hop).</summary>
    public const string TxnTokenMissing = "txn_token.missing";
    /// <summary>The Txn-Token Service refused the replacement (§7.4); the detail is its RFC 6749 §5.2 error.</summary>
    public const string OutboundTxnTokenRefused = "outbound.txn_token_refused";
    /// <summary>No replacement Txn-Token could be had (service down, circuit open, unusable answer).</summary>
    public const string OutboundTxnTokenUnavailable = "outbound.txn_token_unavailable";

    // DPoP (RFC 9449): each check of §4.3 and §7.1 has its own reason; proof_invalid carries the failed check as detail.
    /// <summary>A DPoP-bound token (or a DPoP-only route) without a proof, or a bound token sent as Bearer (RFC 9449 §7.2).</summary>
    public const string DpopProofMissing = "dpop.proof_missing";
    /// <summary>The DPoP proof failed a check of RFC 9449 §4.3; the detail names the check (typ, alg, jwk, htu…).</summary>
    public const string DpopProofInvalid = "dpop.proof_invalid";
    /// <summary>The proof's (jkt, jti) was already accepted within its iat window (RFC 9449 §11.1).</summary>
    public const string DpopReplayed = "dpop.replayed";
    /// <summary>The proof key's RFC 7638 thumbprint is not the token's <c>cnf.jkt</c>, or the token is not DPoP-bound.</summary>
    public const string DpopBindingMismatch = "dpop.binding_mismatch";
    /// <summary>The listener requires a server nonce (RFC 9449 §8) and the proof has none or a stale one.</summary>
    public const string DpopNonceRequired = "dpop.nonce_required";

    // Key and introspection availability
    public const string KeysUnavailable = "keys.unavailable";
    public const string IntrospectionUnavailable = "introspection.unavailable";
    /// <summary>The shared state backend (Redis) is unreachable: DPoP proofs cannot be checked for replay (503).</summary>
    public const string StateUnavailable = "state.unavailable";

    // Peer identity
    public const string PeerCertificateMissing = "peer.certificate_missing";
    public const string PeerCertificateInvalid = "peer.certificate_invalid";
    public const string PeerIdentityMismatch = "peer.identity_mismatch";

    // Policy
    public const string ScopeMissing = "scope.missing";
    public const string PolicyDenyMatched = "policy.deny_matched";
    public const string PolicyAllowMatched = "policy.allow_matched";
    public const string PolicyNoAllowMatch = "policy.no_allow_match";
    public const string PolicyAuditMatched = "policy.audit_matched";
    public const string PolicyDryRunDeny = "policy.dry_run_deny";
    public const string PolicyDryRunAllow = "policy.dry_run_allow";
    public const string NoPolicy = "policy.none";
    public const string PublicRoute = "route.public";

    // Forwarding (gateway, inbound and outbound listeners; the request was allowed, the upstream failed)
    public const string NoUpstream = "route.no_upstream";
    public const string UpstreamUnavailable = "upstream.unavailable";
    public const string UpstreamTimeout = "upstream.timeout";

    // Outbound tokens (outbound.token on a route; the request was allowed, the token for the upstream was not had)
    /// <summary>No token could be had for the upstream (token endpoint down, circuit open, client misconfigured).</summary>
    public const string OutboundTokenUnavailable = "outbound.token_unavailable";
    /// <summary>The STS refused the RFC 8693 exchange; the detail is its RFC 6749 §5.2 error (<c>invalid_grant</c>, …).</summary>
    public const string OutboundExchangeRefused = "outbound.exchange_refused";

    // Availability
    public const string Overloaded = "server.overloaded";
    public const string InternalError = "server.internal_error";
    /// <summary>ext_authz gRPC: the engine had not decided shortly before Envoy's deadline (grpc-timeout); denied in band.</summary>
    public const string DecisionTimeout = "server.decision_timeout";

    /// <summary>The Txn-Token Service issued a Txn-Token (<c>:exchange</c> or <c>:replacement</c>); audit only.</summary>
    public const string TxnTokenIssued = "txn_token.issued";

    /// <summary>The Txn-Token Service refused a request (<c>:</c> the RFC 6749 §5.2 error); audit only.</summary>
    public const string TxnTokenRefused = "txn_token.refused";
}
