using System.Text.Json;
using Gatehouse.Model;
using Gatehouse.Tokens.Jwt;
using Gatehouse.Tokens.TxnTokens;

namespace Gatehouse.Tokens;

/// <summary>
/// Reads the transaction facts (draft-ietf-oauth-transaction-tokens-10 §4.2: <c>txn</c>, <c>req_wl</c>,
/// <c>tctx.route</c>) from a Txn-Token's claims, and tells a Txn-Token apart from an access token by its
/// <c>typ</c> (§4.1) without verifying anything — for routing a credential to its refusal, never for trusting it.
/// </summary>
public static class TxnTokenClaims
{
    /// <summary>Longest <c>txn</c>, <c>req_wl</c> element or route kept (they go into audit records).</summary>
    private const int MaxValueLength = 256;

    /// <summary>At most this many requesting workloads are kept (a chain of replacements).</summary>
    private const int MaxRequestingWorkloads = 32;

    /// <summary>The facts of a verified Txn-Token's claims; null when <c>txn</c> is absent (the verifier refuses those).</summary>
    public static TransactionFacts? From(JsonElement claims, bool verified)
    {
        if (claims.ValueKind != JsonValueKind.Object
            || !claims.TryGetProperty(TxnTokenProtocol.Claims.Transaction, out var txn) || txn.ValueKind != JsonValueKind.String
            || txn.GetString() is not { Length: > 0 } id)
        {
            return null;
        }

        var workloads = new List<string>();
        if (claims.TryGetProperty(TxnTokenProtocol.Claims.RequestingWorkload, out var reqWl))
        {
            // §4.2: req_wl is a string; after replacements (§7.4) the requesting workloads are appended, comma-separated
            // (a JSON array is read too), the newest requester last.
            if (reqWl.ValueKind == JsonValueKind.String)
            {
                foreach (var part in (reqWl.GetString() ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    if (workloads.Count >= MaxRequestingWorkloads)
                    {
                        break;
                    }

                    Add(workloads, part);
                }
            }
            else if (reqWl.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in reqWl.EnumerateArray())
                {
                    if (workloads.Count >= MaxRequestingWorkloads)
                    {
                        break;
                    }

                    if (item.ValueKind == JsonValueKind.String)
                    {
                        Add(workloads, item.GetString());
                    }
                }
            }
        }

        string? route = null;
        if (claims.TryGetProperty(TxnTokenProtocol.Claims.TransactionContext, out var tctx) && tctx.ValueKind == JsonValueKind.Object
            && tctx.TryGetProperty("route", out var r) && r.ValueKind == JsonValueKind.String)
        {
            route = Cap(r.GetString());
        }

        return new TransactionFacts(Cap(id)!, workloads, route, verified);
    }

    /// <summary>
    /// The facts a refused Txn-Token claims (unverified: <see cref="TransactionFacts.Verified"/> false), so the
    /// refusal shows in the transaction's story; null when the token is not a readable JWT.
    /// </summary>
    public static TransactionFacts? Unverified(string token)
    {
        if (string.IsNullOrEmpty(token) || JwtParser.CountDots(token, out var first, out var second) != 2)
        {
            return null;
        }

        var jwt = JwtParser.Parse(token, first, second);
        if (jwt.PayloadBytes is null)
        {
            return null;
        }

        try
        {
            return From(JwtParser.ReadClaims(jwt.PayloadBytes), verified: false);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="token"/> is a JWS whose <c>typ</c> says Txn-Token (case-insensitive, RFC 7515 §4.1.9).</summary>
    public static bool IsTxnTokenTyped(string token)
    {
        if (string.IsNullOrEmpty(token) || JwtParser.CountDots(token, out var first, out var second) != 2)
        {
            return false;
        }

        var typ = JwtParser.Parse(token, first, second).Typ;
        return typ is not null
            && (typ.Equals(TxnTokenProtocol.JwtType, StringComparison.OrdinalIgnoreCase)
                || typ.Equals("application/" + TxnTokenProtocol.JwtType, StringComparison.OrdinalIgnoreCase));
    }

    private static void Add(List<string> list, string? value)
    {
        if (value is { Length: > 0 })
        {
            list.Add(Cap(value)!);
        }
    }

    private static string? Cap(string? value) => value is null || value.Length <= MaxValueLength ? value : value[..MaxValueLength];
}
