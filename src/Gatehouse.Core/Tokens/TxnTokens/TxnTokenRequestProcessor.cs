using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Model;
using Gatehouse.Tokens.Jwt;

namespace Gatehouse.Tokens.TxnTokens;

/// <summary>
/// The outcome of one Txn-Token Request: the issued token, or an RFC 6749 §5.2 error (<c>error</c>,
/// <c>error_description</c>, HTTP status). A value, never an exception.
/// </summary>
public sealed class TxnTokenResult
{
    public bool Succeeded => Minted is not null;
    /// <summary>HTTP status: 200, 400, 401, 403 or 503.</summary>
    public required int StatusCode { get; init; }
    /// <summary>RFC 6749 §5.2 / RFC 8693 §2.2.2 error code, when refused.</summary>
    public string? Error { get; init; }
    /// <summary>Human-readable detail (never a token).</summary>
    public string? Description { get; init; }
    public MintedTxnToken? Minted { get; init; }
    /// <summary><c>sub</c> of the issued token (or of the subject token, when known).</summary>
    public string? Subject { get; init; }
    /// <summary>Issued scopes.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];
    /// <summary><c>txn</c> of the issued token.</summary>
    public string? Transaction { get; init; }
    /// <summary>Facts about the presented <c>subject_token</c> (fingerprint, kid, jti, issuer), for the audit.</summary>
    public TokenFacts? SubjectToken { get; init; }
    /// <summary>True when the request replaced a Txn-Token.</summary>
    public bool Replacement { get; init; }

    internal static TxnTokenResult Refuse(int status, string error, string description, TokenFacts? subject = null) =>
        new() { StatusCode = status, Error = error, Description = description, SubjectToken = subject };
}

/// <summary>
/// The Txn-Token Service's request processing (draft-ietf-oauth-transaction-tokens-10, "Txn-Token Request" and
/// "Txn-Token Request Processing", an RFC 8693 profile): validates the parameters, authorizes the caller (its mTLS
/// SPIFFE ID against <c>allowed_callers</c>), validates the <c>subject_token</c> — an access token through the
/// configured issuers, or a Txn-Token of this trust domain for a replacement — bounds the requested scope by the
/// subject's, turns <c>request_context</c> / <c>request_details</c> into <c>rctx</c> / <c>tctx</c>, and mints.
/// Host-agnostic: the proxy's listener passes the form parameters and the verified caller.
/// </summary>
public static class TxnTokenRequestProcessor
{
    private const int MaxContextDepth = 8;
    private const int MaxScopeLength = 1024;

    /// <summary>Processes one request. <paramref name="form"/> holds every parameter as sent (duplicates included).</summary>
    /// <param name="form">The <c>application/x-www-form-urlencoded</c> parameters.</param>
    /// <param name="caller">The caller's SPIFFE ID verified by mTLS, or null.</param>
    /// <param name="traceId">The W3C trace id of the request, when it carried one: <c>txn</c> then starts with it.</param>
    /// <param name="runtime">The snapshot's <c>txn_tokens</c>.</param>
    /// <param name="authenticator">Validates access tokens presented as <c>subject_token</c>.</param>
    /// <param name="principalOf">Reads a validated token's subject and scopes through its issuer's claim profile (the
    /// host passes <c>ClaimProfiles.CreatePrincipal</c>; Tokens does not use Identity, which uses Tokens).</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Request abort.</param>
    public static async ValueTask<TxnTokenResult> ProcessAsync(
        IReadOnlyList<KeyValuePair<string, string>> form,
        string? caller,
        string? traceId,
        TxnTokenRuntime runtime,
        TokenAuthenticator authenticator,
        Func<ValidatedToken, Principal> principalOf,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(principalOf);
        ArgumentNullException.ThrowIfNull(form);
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(authenticator);
        ArgumentNullException.ThrowIfNull(time);

        // Mutual authentication (draft: "Mutual Authentication of the Txn-Token Request") and issuance policy ("TTS
        // Issuance Policies"): only listed workloads obtain Txn-Tokens. RFC 6749 §5.2 invalid_client.
        if (caller is null)
        {
            return TxnTokenResult.Refuse(401, "invalid_client", "the caller presented no SPIFFE identity (mTLS)");
        }

        if (!runtime.AllowedCallers.Contains(caller))
        {
            return TxnTokenResult.Refuse(403, "invalid_client", "the caller is not in txn_tokens.allowed_callers");
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in form)
        {
            // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
            if (!parameters.TryAdd(name, value))
            {
                return TxnTokenResult.Refuse(400, "invalid_request", $"parameter '{name}' is repeated");
            }
        }

        if (Get(parameters, TxnTokenProtocol.Parameters.GrantType) is not { } grantType)
        {
            return Missing(TxnTokenProtocol.Parameters.GrantType);
        }

        if (grantType != TxnTokenProtocol.GrantTypeTokenExchange)
        {
            return TxnTokenResult.Refuse(400, "unsupported_grant_type", "grant_type must be " + TxnTokenProtocol.GrantTypeTokenExchange);
        }

        if (Get(parameters, TxnTokenProtocol.Parameters.RequestedTokenType) is not { } requested)
        {
            return Missing(TxnTokenProtocol.Parameters.RequestedTokenType);
        }

        if (requested != TxnTokenProtocol.TokenTypeUri)
        {
            return TxnTokenResult.Refuse(400, "invalid_request", "requested_token_type must be " + TxnTokenProtocol.TokenTypeUri);
        }

        if (Get(parameters, TxnTokenProtocol.Parameters.Audience) is not { } audience)
        {
            return Missing(TxnTokenProtocol.Parameters.Audience);
        }

        if (audience != runtime.Config.Audience)
        {
            // RFC 8693 §2.2.2: the audience is not one this service issues for.
            return TxnTokenResult.Refuse(400, "invalid_target", "audience must be this trust domain");
        }

        if (Get(parameters, TxnTokenProtocol.Parameters.Scope) is not { } scopeText)
        {
            return Missing(TxnTokenProtocol.Parameters.Scope);
        }

        if (ParseScope(scopeText) is not { } requestedScopes)
        {
            return TxnTokenResult.Refuse(400, "invalid_scope", "scope must be space-separated RFC 6749 §3.3 scope tokens");
        }

        if (Get(parameters, TxnTokenProtocol.Parameters.SubjectToken) is not { } subjectToken)
        {
            return Missing(TxnTokenProtocol.Parameters.SubjectToken);
        }

        if (Get(parameters, TxnTokenProtocol.Parameters.SubjectTokenType) is not { } subjectType)
        {
            return Missing(TxnTokenProtocol.Parameters.SubjectTokenType);
        }

        var rctx = ParseContext(parameters, TxnTokenProtocol.Parameters.RequestContext, runtime.Config.MaxContextBytes, out var rctxError);
        if (rctxError is not null)
        {
            return TxnTokenResult.Refuse(400, "invalid_request", rctxError);
        }

        var tctx = ParseContext(parameters, TxnTokenProtocol.Parameters.RequestDetails, runtime.Config.MaxContextBytes, out var tctxError);
        if (tctxError is not null)
        {
            return TxnTokenResult.Refuse(400, "invalid_request", tctxError);
        }

        var now = time.GetUtcNow();
        var facts = new TokenFacts { Fingerprint = TokenFingerprint.Compute(subjectToken) };
        switch (subjectType)
        {
            case TxnTokenProtocol.TokenTypeUri:
                return await ReplaceAsync(subjectToken, facts, requestedScopes, rctx, tctx, caller, runtime, now).ConfigureAwait(false);
            case TxnTokenProtocol.SubjectTokenTypes.AccessToken:
            case TxnTokenProtocol.SubjectTokenTypes.Jwt:
                break;
            case TxnTokenProtocol.SubjectTokenTypes.RefreshToken:
                // Draft: "Refresh Tokens ... MUST NOT be used to request transaction tokens".
                return TxnTokenResult.Refuse(400, "invalid_request", "subject_token_type refresh_token is never accepted: a refresh token cannot request a Txn-Token", facts);
            default:
                // Note: self_signed and unsigned_json carry a subject the TTS cannot bound the scope of ("Unknown
                // subject_token scope": MUST reject); internal transactions present the workload's own access token.
                return TxnTokenResult.Refuse(400, "invalid_request", $"subject_token_type '{subjectType}' is not accepted (access_token, jwt or txn_token)", facts);
        }

        var validation = await authenticator.AuthenticateAsync(subjectToken, runtime.SubjectIssuers, cancellationToken).ConfigureAwait(false);
        facts = validation.Facts ?? facts;
        if (!validation.Succeeded)
        {
            return validation.Unavailable
                ? TxnTokenResult.Refuse(503, "temporarily_unavailable", $"subject_token cannot be validated now: {validation.Reason}", facts)
                : TxnTokenResult.Refuse(400, "invalid_request", $"subject_token is invalid: {validation.Reason}", facts);
        }

        var token = validation.Token!;
        var principal = token.GetPrincipal(principalOf);
        if (string.IsNullOrEmpty(principal.Subject))
        {
            return TxnTokenResult.Refuse(400, "invalid_request", "subject_token has no sub", facts);
        }

        // Draft, "Scope Processing" and "Unknown subject_token scope": the Txn-Token's scope is at most the subject
        // token's, and a subject token whose scope is unknown is refused, never treated as unconstrained.
        if (principal.Scopes.Count == 0)
        {
            return TxnTokenResult.Refuse(400, "invalid_scope", "the subject_token carries no scope, so the requested scope cannot be bounded", facts);
        }

        foreach (var scope in requestedScopes)
        {
            if (!principal.Scopes.Contains(scope))
            {
                return TxnTokenResult.Refuse(400, "invalid_scope", $"scope '{scope}' exceeds the subject_token's scope", facts);
            }
        }

        var txn = NewTransactionId(traceId);
        var minted = runtime.Minter.Mint(new TxnTokenContent
        {
            Subject = principal.Subject,
            Scope = string.Join(' ', requestedScopes),
            Transaction = txn,
            RequestingWorkload = caller,
            RequestContext = rctx,
            TransactionContext = tctx,
        }, now);
        return new TxnTokenResult
        {
            StatusCode = 200,
            Minted = minted,
            Subject = principal.Subject,
            Scopes = requestedScopes,
            Transaction = txn,
            SubjectToken = facts,
        };
    }

    /// <summary>
    /// A replacement Txn-Token (draft, "Txn-Token as a subject_token"): the presented one must be valid under this
    /// trust domain's keys and unexpired; <c>txn</c>, <c>sub</c>, <c>aud</c>, <c>rctx</c> and <c>tctx</c> are kept,
    /// the scope may only narrow, the requesting workload is appended to <c>req_wl</c> (the Call Chain), and the
    /// new token never outlives the old one — so no replacement count limit is needed.
    /// </summary>
    private static async ValueTask<TxnTokenResult> ReplaceAsync(
        string subjectToken,
        TokenFacts facts,
        List<string> requestedScopes,
        JsonElement? rctx,
        JsonElement? tctx,
        string caller,
        TxnTokenRuntime runtime,
        DateTimeOffset now)
    {
        var validation = await TxnTokenValidator.ValidateAsync(subjectToken, runtime.Config, runtime.Ring, now).ConfigureAwait(false);
        if (!validation.Succeeded)
        {
            return TxnTokenResult.Refuse(400, "invalid_request", $"subject_token is not a valid Txn-Token: {validation.Problem}", facts);
        }

        facts = facts with
        {
            Kid = validation.KeyId,
            Jti = Text(validation.Claims, TxnTokenProtocol.Claims.TokenId),
            Issuer = runtime.Config.Issuer,
            Kind = "txn_token",
        };

        if (rctx is not null || tctx is not null)
        {
            // Note: rctx and tctx are the transaction's immutable context; a replacement that could rewrite them
            // would undo what the original assertion protects.
            return TxnTokenResult.Refuse(400, "invalid_request", "a replacement keeps the transaction's rctx and tctx; send no request_context or request_details", facts);
        }

        var claims = validation.Claims;
        if (Text(claims, TxnTokenProtocol.Claims.Subject) is not { } subject
            || Text(claims, TxnTokenProtocol.Claims.Transaction) is not { } txn
            || Text(claims, TxnTokenProtocol.Claims.RequestingWorkload) is not { } chain
            || !claims.TryGetProperty(TxnTokenProtocol.Claims.ExpiresAt, out var expElement) || !expElement.TryGetInt64(out var exp))
        {
            return TxnTokenResult.Refuse(400, "invalid_request", "subject_token lacks sub, txn, req_wl or exp", facts);
        }

        var held = ParseScope(Text(claims, TxnTokenProtocol.Claims.Scope) ?? "") ?? [];
        foreach (var scope in requestedScopes)
        {
            if (!held.Contains(scope, StringComparer.Ordinal))
            {
                return TxnTokenResult.Refuse(400, "invalid_scope", $"scope '{scope}' is not in the replaced Txn-Token's scope (a replacement only narrows)", facts);
            }
        }

        var minted = runtime.Minter.Mint(new TxnTokenContent
        {
            Subject = subject,
            Scope = string.Join(' ', requestedScopes),
            Transaction = txn,
            RequestingWorkload = chain + TxnTokenProtocol.RequestingWorkloadSeparator + caller,
            NotAfter = DateTimeOffset.FromUnixTimeSeconds(exp),
            RequestContext = claims.TryGetProperty(TxnTokenProtocol.Claims.RequestContext, out var oldRctx) ? oldRctx : null,
            TransactionContext = claims.TryGetProperty(TxnTokenProtocol.Claims.TransactionContext, out var oldTctx) ? oldTctx : null,
        }, now);
        return new TxnTokenResult
        {
            StatusCode = 200,
            Minted = minted,
            Subject = subject,
            Scopes = requestedScopes,
            Transaction = txn,
            SubjectToken = facts,
            Replacement = true,
        };
    }

    /// <summary>
    /// A fresh transaction id: <c>TRACEID-SPANID</c> (32 + 16 lower-case hex). With a trace id the transaction
    /// starts with it, so traces and transactions correlate; the random second part keeps it unique per token even
    /// when a caller reuses a traceparent (draft, "Unique Transaction Identifier").
    /// </summary>
    public static string NewTransactionId(string? traceId)
    {
        Span<byte> random = stackalloc byte[24];
        RandomNumberGenerator.Fill(random);
        Span<char> text = stackalloc char[49];
        if (traceId is { Length: 32 } && IsLowerHex(traceId))
        {
            traceId.AsSpan().CopyTo(text);
        }
        else
        {
            Convert.TryToHexStringLower(random[..16], text, out _);
        }

        text[32] = '-';
        Convert.TryToHexStringLower(random[16..], text[33..], out _);
        return new string(text);
    }

    /// <summary>The transaction id of a request the gateway forwards: its trace id and the span id it sends upstream.</summary>
    public static string TransactionIdFor(string traceId, string spanId) => string.Concat(traceId, "-", spanId);

    private static bool IsLowerHex(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static TxnTokenResult Missing(string name) =>
        TxnTokenResult.Refuse(400, "invalid_request", $"missing parameter '{name}'");

    private static string? Get(Dictionary<string, string> parameters, string name) =>
        parameters.TryGetValue(name, out var value) && value.Length > 0 ? value : null;

    private static string? Text(JsonElement claims, string name) =>
        claims.ValueKind == JsonValueKind.Object && claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>RFC 6749 §3.3: <c>scope-token = 1*( %x21 / %x23-5B / %x5D-7E )</c>, separated by single spaces.</summary>
    private static List<string>? ParseScope(string text)
    {
        if (text.Length == 0 || text.Length > MaxScopeLength)
        {
            return null;
        }

        var scopes = new List<string>();
        foreach (var part in text.Split(' '))
        {
            if (part.Length == 0)
            {
                return null;
            }

            foreach (var c in part)
            {
                if (c is < '!' or '"' or '\\' or > '~')
                {
                    return null;
                }
            }

            if (!scopes.Contains(part, StringComparer.Ordinal))
            {
                scopes.Add(part);
            }
        }

        return scopes;
    }

    /// <summary><c>request_context</c> / <c>request_details</c>: a JSON object, size- and depth-bounded, no duplicate members.</summary>
    private static JsonElement? ParseContext(Dictionary<string, string> parameters, string name, int maxBytes, out string? error)
    {
        error = null;
        if (!parameters.TryGetValue(name, out var text) || text.Length == 0)
        {
            return null;
        }

        if (Encoding.UTF8.GetByteCount(text) > maxBytes)
        {
            error = $"{name} exceeds {maxBytes} bytes";
            return null;
        }

        var problem = StrictJson.TryParseObject(Encoding.UTF8.GetBytes(text), MaxContextDepth, out var root, out var detail);
        switch (problem)
        {
            case StrictJson.Error.None:
                return root;
            case StrictJson.Error.NotAnObject:
                error = $"{name} must be a JSON object";
                return null;
            case StrictJson.Error.DuplicateMember:
                error = $"{name} repeats a member{(detail is null ? "" : ": " + detail)}";
                return null;
            default:
                error = $"{name} is not valid JSON (or nests deeper than {MaxContextDepth})";
                return null;
        }
    }
}
