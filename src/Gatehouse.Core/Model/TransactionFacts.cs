namespace Gatehouse.Model;

/// <summary>
/// The transaction a request belongs to, as a Txn-Token (draft-ietf-oauth-transaction-tokens-10 §4.2) tells it:
/// the <c>txn</c> id, the requesting workloads (<c>req_wl</c>, a string or, after replacements, a list) and the route
/// the transaction started at (<c>tctx.route</c>). Safe to audit: identifiers only, never the token.
/// </summary>
/// <param name="Id">The <c>txn</c> claim.</param>
/// <param name="RequestingWorkloads">The <c>req_wl</c> claim's values, in order; empty when absent.</param>
/// <param name="Route">The <c>tctx.route</c> claim, when present.</param>
/// <param name="Verified">
/// False when the Txn-Token was refused at this hop: the values are then what the token claimed (recorded so the
/// refusal shows in the transaction's story), not facts.
/// </param>
public sealed record TransactionFacts(string Id, IReadOnlyList<string> RequestingWorkloads, string? Route, bool Verified = true);
