using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Outbound;
using Gatehouse.Runtime;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Outbound;

/// <summary>The Authorization value for the upstream request (carried from the step to the transformer).</summary>
internal sealed class OutboundTokenFeature
{
    public required string Authorization { get; init; }
}

/// <summary>The replacement Txn-Token for the upstream request's <c>txn-token</c> header.</summary>
internal sealed class OutboundTxnTokenFeature
{
    public required string TxnToken { get; init; }
}

/// <summary>
/// After an allow, before forwarding: obtains the token an <c>outbound.token</c> route attaches. <c>none</c> and
/// <c>forward</c> need nothing here (the compiled route strips or keeps the app's <c>Authorization</c>);
/// <c>client_credentials</c> attaches the workload's own token; <c>exchange</c> exchanges the app's bearer token
/// (RFC 8693). When no token can be had the request is denied and nothing reaches the upstream.
/// </summary>
public sealed class OutboundTokenStep
{
    private readonly OutboundTokenSources _sources;

    public OutboundTokenStep(OutboundTokenSources sources) => _sources = sources;

    /// <summary>True when the route attaches a token obtained here.</summary>
    public static bool Applies(CompiledRoute route) =>
        route.Config.Outbound?.Token is { Mode: OutboundTokenMode.ClientCredentials or OutboundTokenMode.Exchange };

    /// <summary>True when the route replaces the app's Txn-Token (<c>outbound.txn_token.replace</c>).</summary>
    public static bool ReplacesTxnToken(CompiledRoute route) => route.Config.Outbound?.TxnToken is { Replace: true };

    /// <summary>
    /// Sets the replacement Txn-Token on the context (draft-ietf-oauth-transaction-tokens-10 §7.4), or returns the
    /// denial to answer instead: no Txn-Token on the app's request is 401 <c>txn_token.missing</c>; a refusal by the
    /// service 403 (401 for <c>invalid_grant</c>: the Txn-Token itself); no answer 503. Nothing reaches the upstream then.
    /// </summary>
    public async ValueTask<Decision?> PrepareTxnTokenAsync(HttpContext context, Decision decision, CompiledRoute route, GatehouseSnapshot snapshot, CancellationToken cancellationToken)
    {
        var values = context.Request.Headers[Gatehouse.Tokens.TxnTokens.TxnTokenProtocol.HeaderName];
        if (values.Count != 1 || string.IsNullOrWhiteSpace(values[0]) || values[0]!.Contains(','))
        {
            return Deny(decision, StatusCodes.Status401Unauthorized, values.Count == 0 ? ReasonCodes.TxnTokenMissing : ReasonCodes.TxnTokenHeaderInvalid, challenge: null);
        }

        var result = await _sources.TxnReplacerFor(route, snapshot.Config).ReplaceAsync(values[0]!.Trim(), cancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            context.Features.Set(new OutboundTxnTokenFeature { TxnToken = result.Token! });
            return null;
        }

        if (result.Failure == OutboundTokenFailure.Refused)
        {
            var reason = ReasonCodes.OutboundTxnTokenRefused + ":" + result.Error;
            return string.Equals(result.Error, "invalid_grant", StringComparison.Ordinal)
                ? Deny(decision, StatusCodes.Status401Unauthorized, reason, challenge: null)
                : Deny(decision, StatusCodes.Status403Forbidden, reason, challenge: null);
        }

        return Deny(decision, StatusCodes.Status503ServiceUnavailable, ReasonCodes.OutboundTxnTokenUnavailable, challenge: null);
    }

    /// <summary>Sets the upstream Authorization on the context, or returns the denial to answer instead.</summary>
    public async ValueTask<Decision?> PrepareAsync(HttpContext context, Decision decision, CompiledRoute route, GatehouseSnapshot snapshot, CancellationToken cancellationToken)
    {
        var config = route.Config.Outbound!.Token!;
        var source = _sources.For(route, snapshot.Config);
        OutboundTokenResult result;
        if (config.Mode == OutboundTokenMode.ClientCredentials)
        {
            result = await source.GetClientCredentialsTokenAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var credential = BearerCredential.Parse(context.Request.Headers.Authorization.ToString(), out var subject);
            if (credential != CredentialStatus.Present)
            {
                // RFC 8693 §2.1: subject_token is REQUIRED; without one the app has to authenticate its caller first.
                return Deny(decision, StatusCodes.Status401Unauthorized, ReasonCodes.TokenMissing, Challenges.Missing);
            }

            result = await source.ExchangeAsync(subject, cancellationToken).ConfigureAwait(false);
        }

        if (result.Succeeded)
        {
            context.Features.Set(new OutboundTokenFeature { Authorization = "Bearer " + result.Token });
            return null;
        }

        if (config.Mode == OutboundTokenMode.Exchange && result.Failure == OutboundTokenFailure.Refused)
        {
            var reason = ReasonCodes.OutboundExchangeRefused + ":" + result.Error;
            // RFC 8693 §2.2.2 / RFC 6749 §5.2: invalid_grant means the subject token itself is not acceptable — the
            // app's credential, so 401 with an RFC 6750 challenge; any other refusal is about this hop: 403.
            return string.Equals(result.Error, "invalid_grant", StringComparison.Ordinal)
                ? Deny(decision, StatusCodes.Status401Unauthorized, reason, Challenges.InvalidToken(reason))
                : Deny(decision, StatusCodes.Status403Forbidden, reason, challenge: null);
        }

        var unavailable = result.Error is null ? ReasonCodes.OutboundTokenUnavailable : ReasonCodes.OutboundTokenUnavailable + ":" + result.Error;
        return Deny(decision, StatusCodes.Status503ServiceUnavailable, unavailable, challenge: null);
    }

    private static Decision Deny(Decision allowed, int status, string reason, string? challenge) => new()
    {
        Outcome = DecisionOutcome.Deny,
        StatusCode = status,
        Reasons = [reason],
        Challenge = challenge,
        RouteName = allowed.RouteName,
        NormalizedPath = allowed.NormalizedPath,
        DecidingPolicy = allowed.DecidingPolicy,
        Principal = allowed.Principal,
        Token = allowed.Token,
        Trace = allowed.Trace,
        Recorded = allowed.Recorded,
        Transaction = allowed.Transaction,
    };
}
