namespace Gatehouse.Core.Tokens.TxnTokens;

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

    /// <summary>Claim names of §4.2.</summary>
    public static class Claims
    {
        public const string Transaction = "txn";
        public const string RequestingWorkload = "req_wl";
        public const string RequestContext = "rctx";
        public const string TransactionContext = "tctx";
        public const string Scope = "scope";
    }
}
