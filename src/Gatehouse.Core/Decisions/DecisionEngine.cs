using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Diagnostics;
using Gatehouse.Http;
using Gatehouse.Identity;
using Gatehouse.Identity.Profiles;
using Gatehouse.Model;
using Gatehouse.Policy;
using Gatehouse.Routing;
using Gatehouse.Runtime;
using Gatehouse.State;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Dpop;
using Gatehouse.Tokens.TxnTokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Decisions;

/// <summary>
/// The one decision path every host uses (gateway, sidecars, ext_authz gRPC/HTTP, <c>gatehouse explain</c>):
/// normalize the path → match the route → read the credential → validate the token → build the principal →
/// check token binding and required scopes → evaluate policies. Every failure is a denial with a reason;
/// nothing here throws for bad input.
/// </summary>
public sealed class DecisionEngine
{
    private readonly TokenAuthenticator _tokens;
    private readonly DpopVerifier _dpop;

    /// <summary>
    /// Creates the engine. Without <paramref name="dpop"/>, DPoP proofs are checked against an in-process replay
    /// cache (<c>state.backend: memory</c>).
    /// </summary>
    public DecisionEngine(TokenAuthenticator tokens, DpopVerifier? dpop = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _tokens = tokens;
        _dpop = dpop ?? new DpopVerifier(tokens.TimeProvider, new MemoryStateStore(tokens.TimeProvider, 100_000), NullLoggerFactory.Instance);
    }

    public TokenAuthenticator Tokens => _tokens;

    /// <summary>The DPoP proof verifier (its replay cache lives in the state backend).</summary>
    public DpopVerifier Dpop => _dpop;

    /// <summary>Decides <paramref name="request"/> against <paramref name="snapshot"/>.</summary>
    /// <param name="request">The request, as the host received it.</param>
    /// <param name="snapshot">The config snapshot taken at the start of the request.</param>
    /// <param name="trace">Collect the per-policy trace (explain, debugging); off on the hot path.</param>
    /// <param name="cancellationToken">Aborts key fetches and introspection when the client goes away.</param>
    public async ValueTask<Decision> DecideAsync(
        AuthorizationRequest request,
        GatehouseSnapshot snapshot,
        bool trace = false,
        CancellationToken cancellationToken = default)
    {
        // One span per decision, tagged with the outcome and reason (docs/observability.md).
        var activity = GatehouseTelemetry.StartDecision(request);
        var pending = DecideCoreAsync(request, snapshot, trace, cancellationToken);
        var decision = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
        GatehouseTelemetry.CompleteDecision(activity, decision);
        return decision;
    }

    private async ValueTask<Decision> DecideCoreAsync(
        AuthorizationRequest request,
        GatehouseSnapshot snapshot,
        bool trace,
        CancellationToken cancellationToken)
    {
        var path = PathNormalizer.Normalize(request.RawPath, snapshot.Config.Paths);
        if (!path.Ok)
        {
            return Deny(400, path.Reason ?? ReasonCodes.PathInvalid, null, challenge: null);
        }

        var route = snapshot.RoutesFor(request.Listener).Match(request.Host, path.Path);
        if (route is null)
        {
            return Deny(404, ReasonCodes.RouteNotFound, null, challenge: null, normalizedPath: path.Path);
        }

        var credential = BearerCredential.Parse(request.GetHeader("authorization"), out var rawToken, out var scheme);
        var requireDpop = route.Config.Authentication.RequireDpop;
        if (credential == CredentialStatus.Malformed)
        {
            return Deny(401, ReasonCodes.AuthorizationHeaderInvalid, route, Challenges.InvalidToken(ReasonCodes.AuthorizationHeaderInvalid), path.Path);
        }

        // Transaction Tokens (draft-ietf-oauth-transaction-tokens-10 §8): read from the txn-token header, and only by
        // the route's txn_token issuers. A route without one does not read the header (it is not a credential there).
        ValidatedToken? txnToken = null;
        TransactionFacts? transaction = null;
        var txnIssuers = route.TxnIssuers;
        if (txnIssuers.Count > 0 && request.GetHeader(TxnTokenProtocol.HeaderName) is { } txnHeader)
        {
            var txnValue = txnHeader.AsSpan().Trim(' ');
            if (txnValue.IsEmpty || txnValue.Contains(','))
            {
                // Note: repeated headers arrive comma-joined; one request is one transaction, so picking one is refused.
                return Deny(401, ReasonCodes.TxnTokenHeaderInvalid, route, Challenges.InvalidToken(ReasonCodes.TxnTokenHeaderInvalid), path.Path);
            }

            var txnRaw = txnValue.Length == txnHeader.Length ? txnHeader : txnValue.ToString();
            var txnResult = await _tokens.AuthenticateAsync(txnRaw, txnIssuers, cancellationToken).ConfigureAwait(false);
            if (!txnResult.Succeeded)
            {
                var reason = txnResult.Reason ?? ReasonCodes.TokenInvalid;
                var denial = txnResult.Unavailable
                    ? Deny(503, reason, route, challenge: null, path.Path, facts: txnResult.Facts)
                    : Deny(401, reason, route, Challenges.InvalidToken(reason), path.Path, facts: txnResult.Facts);
                return WithTransaction(denial, TxnTokenClaims.Unverified(txnRaw));
            }

            txnToken = txnResult.Token!;
            transaction = TxnTokenClaims.From(txnToken.Claims, verified: true);
        }

        var accessIssuers = route.AccessIssuers;
        ValidatedToken? accessToken = null;
        switch (credential)
        {
            // Note: a route that requires DPoP wants a sender-constrained access token; a Txn-Token (bound to its
            // transaction, not to a key) does not stand in for one.
            case CredentialStatus.Absent when route.RequireToken && (txnToken is null || requireDpop):
                return Deny(401, ReasonCodes.TokenMissing, route,
                    requireDpop ? Challenges.DpopMissing(snapshot.DpopFor(request.Listener).AlgorithmsChallenge) : Challenges.Missing, path.Path);
            case CredentialStatus.Present when route.PassesTokenUnvalidated:
                break;
            case CredentialStatus.Present when accessIssuers.Count == 0 && txnIssuers.Count > 0:
                // A route that accepts only Txn-Tokens does not read Authorization — except that a Txn-Token put there
                // is refused (§8: the txn-token header is its only place), so no confusion between the two is possible.
                if (TxnTokenClaims.IsTxnTokenTyped(rawToken))
                {
                    return Deny(401, ReasonCodes.TxnTokenInAuthorization, route, Challenges.InvalidToken(ReasonCodes.TxnTokenInAuthorization), path.Path);
                }

                if (txnToken is null && route.RequireToken)
                {
                    return Deny(401, ReasonCodes.TokenMissing, route, Challenges.Missing, path.Path);
                }

                break;
            case CredentialStatus.Present:
                // Note: a token offered on a public route is still validated; an invalid one is refused rather than
                // silently treated as anonymous (fail closed, as Istio RequestAuthentication does). With a Txn-Token
                // beside it, both must be valid.
                var result = await _tokens.AuthenticateAsync(rawToken, accessIssuers, cancellationToken).ConfigureAwait(false);
                if (!result.Succeeded)
                {
                    var reason = result.Reason ?? ReasonCodes.TokenInvalid;
                    var denial = result.Unavailable
                        ? Deny(503, reason, route, challenge: null, path.Path, facts: result.Facts)
                        : Deny(401, reason, route, scheme == CredentialScheme.DPoP
                            ? Challenges.Dpop(reason, snapshot.DpopFor(request.Listener).AlgorithmsChallenge)
                            : Challenges.InvalidToken(reason), path.Path, facts: result.Facts);
                    return WithTransaction(denial, transaction);
                }
                accessToken = result.Token!;
                break;
        }

        // With a Txn-Token the transaction's subject is who is asking (docs/txn-tokens.md, "Both tokens"): policy sees
        // its sub, scope and claims; the workload still comes from mTLS. The access token beside it must be valid, and
        // its sender constraints (DPoP, RFC 8705) are still enforced below.
        var token = txnToken ?? accessToken;
        var facts = token?.Facts;
        var principal = token is null
            ? new Principal { Workload = request.PeerIdentity }
            : token.GetPrincipal(static t => ClaimProfiles.CreatePrincipal(t.Claims, t.Issuer.Config, workload: null)).WithWorkload(request.PeerIdentity);

        var dpopUsed = false;
        if (accessToken is not null && (scheme == CredentialScheme.DPoP || accessToken.DpopThumbprint is not null || requireDpop))
        {
            // RFC 9449 §7.1 / §7.2: a DPoP-bound token is never accepted as a bearer token (no downgrade), and a
            // route that requires DPoP accepts nothing else.
            var settings = snapshot.DpopFor(request.Listener);
            string? refusal = null;
            if (scheme != CredentialScheme.DPoP)
            {
                refusal = ReasonCodes.DpopProofMissing + ":bearer_scheme";
            }
            else if (accessToken.DpopThumbprint is null)
            {
                refusal = ReasonCodes.DpopBindingMismatch + ":token_not_bound";
            }

            if (refusal is not null)
            {
                return Deny(401, refusal, route, Challenges.Dpop(refusal, settings.AlgorithmsChallenge), path.Path, principal, facts, transaction);
            }

            var expected = new DpopExpectations(
                request.Method,
                new DpopOrigin(request.Scheme.ToLowerInvariant(), request.Host, request.Port),
                path.Path,
                snapshot.Config.Paths,
                rawToken,
                accessToken.DpopThumbprint,
                default);
            var check = await _dpop.VerifyAsync(request.GetHeader("dpop"), expected, settings, cancellationToken).ConfigureAwait(false);
            if (!check.Ok)
            {
                var reason = check.Reason!;
                var denial = check.Unavailable
                    ? Deny(503, reason, route, challenge: null, path.Path, principal, facts, transaction)
                    : Deny(401, reason, route, Challenges.Dpop(reason, settings.AlgorithmsChallenge), path.Path, principal, facts, transaction);
                return check.Nonce is null ? denial : WithResponseHeader(denial, "DPoP-Nonce", check.Nonce);
            }

            dpopUsed = true;
        }

        if (accessToken is not null)
        {
            // RFC 8705 §3: a certificate-bound token is only valid over a connection authenticated with that certificate.
            var bindingRequired = route.RequireBoundTokens || accessToken.Issuer.Config.RequireBoundTokens;
            if (accessToken.ConfirmationThumbprint is not null)
            {
                if (request.PeerCertificateThumbprint is null
                    || !FixedTimeEquals(accessToken.ConfirmationThumbprint, request.PeerCertificateThumbprint))
                {
                    return Deny(401, ReasonCodes.TokenBindingMismatch, route, Challenges.InvalidToken(ReasonCodes.TokenBindingMismatch), path.Path, principal, facts, transaction);
                }
            }
            else if (bindingRequired)
            {
                return Deny(401, ReasonCodes.TokenBindingRequired, route, Challenges.InvalidToken(ReasonCodes.TokenBindingRequired), path.Path, principal, facts, transaction);
            }
        }

        if (token is not null)
        {
            // RFC 8693 §4.1: the delegation chain is part of who is asking. A chain that cannot be read is an invalid
            // token; one longer than the route accepts is refused before any policy sees it.
            var delegation = principal.Delegation;
            if (delegation.Error is { } actError)
            {
                var reason = ReasonCodes.TokenActInvalid + ":" + actError;
                return Deny(401, reason, route, Challenges.InvalidToken(reason), path.Path, principal, facts, transaction);
            }

            if (delegation.TooDeep || delegation.Depth > route.MaxDelegationDepth)
            {
                var reason = ReasonCodes.TokenDelegationTooDeep + (delegation.TooDeep
                    ? $":depth_over_{ActorChain.MaxParseDepth}"
                    : $":depth_{delegation.Depth}_exceeds_{route.MaxDelegationDepth}");
                return Deny(403, reason, route, Challenges.InsufficientScope(reason, scope: null), path.Path, principal, facts, transaction);
            }
        }

        foreach (var scope in route.Config.Authentication.RequiredScopes)
        {
            if (!principal.Scopes.Contains(scope))
            {
                var reason = ReasonCodes.ScopeMissing + ":" + scope;
                return Deny(403, reason, route, Challenges.InsufficientScope(reason, scope), path.Path, principal, facts, transaction);
            }
        }

        var evaluation = route.Policies.Evaluate(new PolicyInput(request, path.Path, principal), trace);
        if (!evaluation.Allowed)
        {
            var reason = evaluation.Reasons.Count > 0 ? evaluation.Reasons[0] : ReasonCodes.PolicyNoAllowMatch;
            string? scope = null;
            if (reason.StartsWith(ReasonCodes.ScopeMissing + ":", StringComparison.Ordinal))
            {
                scope = reason[(ReasonCodes.ScopeMissing.Length + 1)..];
            }
            // Note: a caller without a token, refused by policy on a route that accepts tokens, gets 401 with a bare
            // challenge: the request lacks credentials a token could supply (RFC 6750 §3 and §3.1: no error code when
            // the request had no authentication information; RFC 9110 §15.5.2). On a route with no issuers no token
            // can help: 403 without a challenge. A caller with a token gets 403; its challenge says
            // insufficient_scope only when a scope condition failed (RFC 6750 §3.1: "requires higher privileges
            // than provided by the access token") — any other policy refusal (principal, path, method, claim) is a
            // plain 403 with the reason, no challenge (docs/errors.md).
            var (status, challenge) = token is null
                ? route.Issuers.Count > 0 ? (401, Challenges.Missing) : (403, (string?)null)
                : (403, scope is null ? null : Challenges.InsufficientScope(reason, scope));
            return new Decision
            {
                Outcome = DecisionOutcome.Deny,
                StatusCode = status,
                Reasons = evaluation.Reasons.Count > 0 ? evaluation.Reasons : [reason],
                Challenge = challenge,
                RouteName = route.Name,
                NormalizedPath = path.Path,
                DecidingPolicy = evaluation.DecidingPolicy,
                Principal = principal,
                Token = facts,
                Trace = evaluation.Trace,
                Recorded = evaluation.Recorded,
                Transaction = transaction,
            };
        }

        return new Decision
        {
            Outcome = DecisionOutcome.Allow,
            StatusCode = 200,
            Reasons = evaluation.Reasons.Count > 0 ? evaluation.Reasons
                : token is null ? [ReasonCodes.PublicRoute] : [ReasonCodes.NoPolicy],
            RouteName = route.Name,
            NormalizedPath = path.Path,
            DecidingPolicy = evaluation.DecidingPolicy,
            Principal = principal,
            Token = facts,
            UpstreamHeaders = token is null ? [] : ClaimHeaderValues(route, token.Claims),
            RemoveHeaders = dpopUsed || request.GetHeader("dpop") is not null ? route.RemoveHeadersWithDpop : route.RemoveHeaders,
            Trace = evaluation.Trace,
            Recorded = evaluation.Recorded,
            ValidUntil = accessToken is not null && txnToken is not null && accessToken.ExpiresAt < txnToken.ExpiresAt
                ? accessToken.ExpiresAt
                : token?.ExpiresAt,
            Transaction = transaction,
        };
    }

    private static Decision Deny(
        int status,
        string reason,
        CompiledRoute? route,
        string? challenge,
        string? normalizedPath = null,
        Principal? principal = null,
        TokenFacts? facts = null,
        TransactionFacts? transaction = null)
    {
        return new Decision
        {
            Outcome = DecisionOutcome.Deny,
            StatusCode = status,
            Reasons = [reason],
            Challenge = challenge,
            RouteName = route?.Name,
            NormalizedPath = normalizedPath,
            Principal = principal,
            Token = facts,
            Transaction = transaction,
        };
    }

    private static Decision WithTransaction(Decision decision, TransactionFacts? transaction) => transaction is null ? decision : new()
    {
        Outcome = decision.Outcome,
        StatusCode = decision.StatusCode,
        Reasons = decision.Reasons,
        Challenge = decision.Challenge,
        RouteName = decision.RouteName,
        NormalizedPath = decision.NormalizedPath,
        Principal = decision.Principal,
        Token = decision.Token,
        Transaction = transaction,
    };

    private static Decision WithResponseHeader(Decision decision, string name, string value) => new()
    {
        Outcome = decision.Outcome,
        StatusCode = decision.StatusCode,
        Reasons = decision.Reasons,
        Challenge = decision.Challenge,
        RouteName = decision.RouteName,
        NormalizedPath = decision.NormalizedPath,
        Principal = decision.Principal,
        Token = decision.Token,
        Transaction = decision.Transaction,
        ResponseHeaders = [new(name, value)],
    };

    /// <summary>
    /// Claim values for upstream headers: a comma-separated list, one element per array item (or the scalar), each
    /// through <see cref="HeaderValues.EncodeListElement"/> — control characters, non-ASCII, <c>%</c>, <c>,</c> and
    /// edge spaces percent-encoded (UTF-8), so a claim can neither split the header nor the list, and the upstream
    /// recovers the exact value with any URL decoder. The ext_authz hosts send these same values.
    /// </summary>
    internal static IReadOnlyList<KeyValuePair<string, string>> ClaimHeaderValues(CompiledRoute route, JsonElement claims)
    {
        if (route.ClaimHeaders.Count == 0)
        {
            return [];
        }
        var headers = new List<KeyValuePair<string, string>>(route.ClaimHeaders.Count);
        foreach (var (header, claimPath) in route.ClaimHeaders)
        {
            if (!ClaimProfiles.TryGetClaim(claims, claimPath, out var value))
            {
                continue;
            }
            var text = FormatClaim(value);
            if (text.Length > 0)
            {
                headers.Add(new(header, text));
            }
        }
        return headers;
    }

    private static string FormatClaim(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Array:
                var builder = new StringBuilder();
                foreach (var item in value.EnumerateArray())
                {
                    var part = FormatScalar(item);
                    if (part.Length == 0)
                    {
                        continue;
                    }
                    if (builder.Length > 0)
                    {
                        builder.Append(',');
                    }
                    builder.Append(part);
                }
                return builder.ToString();
            default:
                return FormatScalar(value);
        }
    }

    private static string FormatScalar(JsonElement value)
    {
        var raw = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString() ?? "",
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => "",
        };
        return HeaderValues.EncodeListElement(raw);
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
