namespace Gatehouse.Tokens.TxnTokens;

/// <summary>
/// The wire names of Transaction Tokens (draft-ietf-oauth-transaction-tokens-10). One place, so the service that
/// mints them, the gateway that mints them inline and every verifier agree on every string.
/// </summary>
public static class TxnTokenProtocol
{
    /// <summary>The JOSE <c>typ</c> header of a Txn-Token (§4.1; registered in §11).</summary>
    public const string JwtType = "txntoken+jwt";

    /// <summary>The RFC 8693 token type identifier of a Txn-Token (§7.1, §11).</summary>
    public const string TokenTypeUri = "urn:ietf:params:oauth:token-type:txn_token";

    /// <summary>The HTTP header that carries a Txn-Token between workloads (§8); never <c>Authorization</c>.</summary>
    public const string HeaderName = "txn-token";

    /// <summary>RFC 8693 §2.1 <c>grant_type</c> of a token exchange (draft -10, "Txn-Token Request").</summary>
    public const string GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";

    /// <summary>RFC 8693 §2.2.1: the <c>token_type</c> of an issued token that is not an access token (draft -10, "Txn-Token Response").</summary>
    public const string IssuedTokenTypeNotApplicable = "N_A";

    /// <summary>RFC 8693 §3 token type identifiers a <c>subject_token_type</c> may name (draft -10, "Subject Token Types").</summary>
    public static class SubjectTokenTypes
    {
        public const string AccessToken = "urn:ietf:params:oauth:token-type:access_token";
        public const string Jwt = "urn:ietf:params:oauth:token-type:jwt";
        public const string IdToken = "urn:ietf:params:oauth:token-type:id_token";
        /// <summary>Never accepted (draft -10, "Subject Token Types" and "Refresh Tokens").</summary>
        public const string RefreshToken = "urn:ietf:params:oauth:token-type:refresh_token";
        /// <summary>Draft -10, "Self-Signed Subject Token Type".</summary>
        public const string SelfSigned = "urn:ietf:params:oauth:token-type:self_signed";
        /// <summary>Draft -10, "Unsigned JSON Object Subject Token Type".</summary>
        public const string UnsignedJson = "urn:ietf:params:oauth:token-type:unsigned_json";
    }

    /// <summary>Parameters of a Txn-Token Request (RFC 8693 §2.1 and draft -10, "Txn-Token Request").</summary>
    public static class Parameters
    {
        public const string GrantType = "grant_type";
        public const string Audience = "audience";
        public const string Scope = "scope";
        public const string RequestedTokenType = "requested_token_type";
        public const string SubjectToken = "subject_token";
        public const string SubjectTokenType = "subject_token_type";
        public const string RequestContext = "request_context";
        public const string RequestDetails = "request_details";
    }

    /// <summary>Members of <c>rctx</c> and <c>tctx</c> that Gatehouse writes when a gateway mints (docs/txn-tokens.md).</summary>
    public static class ContextMembers
    {
        /// <summary><c>rctx.req_ip</c>: the client address of the originating request (draft -10, "Request Context" example).</summary>
        public const string RequestIp = "req_ip";
        /// <summary><c>rctx.authn</c>: how the originating caller authenticated.</summary>
        public const string Authentication = "authn";
        /// <summary><c>rctx.client_id</c>: the OAuth client of the external token.</summary>
        public const string ClientId = "client_id";
        /// <summary><c>rctx.transport</c>: http or https.</summary>
        public const string Transport = "transport";
        /// <summary><c>tctx.method</c>.</summary>
        public const string Method = "method";
        /// <summary><c>tctx.path</c>: the normalized path the policy decided on.</summary>
        public const string Path = "path";
        /// <summary><c>tctx.route</c>: the gateway route's name.</summary>
        public const string Route = "route";
    }

    /// <summary>Paths the Txn-Token Service answers (docs/txn-tokens.md).</summary>
    public static class Endpoints
    {
        public const string Token = "/token";
        public const string Metadata = "/.well-known/oauth-authorization-server";
        public const string Jwks = "/.well-known/jwks.json";
    }

    /// <summary>Separator of the workloads in <c>req_wl</c> after replacements (draft -10, "Txn-Token as a subject_token": the Call Chain is kept; docs/txn-tokens.md).</summary>
    public const char RequestingWorkloadSeparator = ',';

    /// <summary>Claim names of §4.2.</summary>
    public static class Claims
    {
        public const string Transaction = "txn";
        public const string RequestingWorkload = "req_wl";
        public const string RequestContext = "rctx";
        public const string TransactionContext = "tctx";
        public const string Scope = "scope";
        public const string Subject = "sub";
        public const string Audience = "aud";
        public const string Issuer = "iss";
        public const string IssuedAt = "iat";
        public const string ExpiresAt = "exp";
        public const string TokenId = "jti";
    }
}
