using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Model;
using Gatehouse.Proxy.Gateway;
using Gatehouse.Proxy.Hosting;
using Gatehouse.Runtime;
using Gatehouse.Tokens;
using Gatehouse.Tokens.TxnTokens;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.TxnTokenService;

/// <summary>
/// Listeners of mode <c>txn_token_service</c>: the Txn-Token Service of draft-ietf-oauth-transaction-tokens-10.
/// <c>POST /token</c> answers RFC 8693 Txn-Token Requests from mTLS-authenticated workloads
/// (<see cref="TxnTokenRequestProcessor"/>), <c>GET /.well-known/oauth-authorization-server</c> describes the service
/// (RFC 8414), <c>GET /.well-known/jwks.json</c> publishes every key of the ring (RFC 7517). Each token request is
/// audited: the issued token's fingerprint, kid and jti, never a token.
/// </summary>
public sealed partial class TxnTokenServiceEndpoints
{
    // Note: a Txn-Token Request is small (an access token plus two bounded JSON objects); the form reader's limits
    // keep a caller from making the service buffer megabytes.
    private static readonly FormOptions s_formOptions = new()
    {
        BufferBody = false,
        ValueCountLimit = 32,
        KeyLengthLimit = 64,
        ValueLengthLimit = 128 * 1024,
        MultipartBodyLengthLimit = 0,
    };

    private static readonly Func<ValidatedToken, Principal> s_principalOf =
        static t => Identity.Profiles.ClaimProfiles.CreatePrincipal(t.Claims, t.Issuer.Config, workload: null);

    private readonly SnapshotHolder _snapshots;
    private readonly TokenAuthenticator _authenticator;
    private readonly PeerIdentityResolver _peers;
    private readonly IDecisionObserver _observer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public TxnTokenServiceEndpoints(SnapshotHolder snapshots, TokenAuthenticator authenticator, PeerIdentityResolver peers, IDecisionObserver observer, TimeProvider time, ILogger<TxnTokenServiceEndpoints> logger)
    {
        _snapshots = snapshots;
        _authenticator = authenticator;
        _peers = peers;
        _observer = observer;
        _time = time;
        _logger = logger;
    }

    public async Task HandleAsync(HttpContext context, ListenerConfig listener)
    {
        var snapshot = _snapshots.Current;
        if (snapshot.TxnTokens is not { } runtime)
        {
            // check refuses this listener mode without the section; a config without it never reaches here.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var path = context.Request.Path.Value;
        if (path == TxnTokenProtocol.Endpoints.Token)
        {
            if (!HttpMethods.IsPost(context.Request.Method))
            {
                context.Response.Headers.Allow = "POST";
                await WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "invalid_request", "the token endpoint takes POST").ConfigureAwait(false);
                return;
            }

            await HandleTokenAsync(context, listener, runtime).ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return;
        }

        switch (path)
        {
            case TxnTokenProtocol.Endpoints.Jwks:
                await WriteJwksAsync(context, runtime).ConfigureAwait(false);
                return;
            case TxnTokenProtocol.Endpoints.Metadata:
                await WriteMetadataAsync(context, runtime).ConfigureAwait(false);
                return;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
        }
    }

    /// <summary>The ring's JWKS (RFC 7517 §5; media type §8.5), cacheable for <c>jwks_max_age</c>.</summary>
    public static Task WriteJwksAsync(HttpContext context, TxnTokenRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(runtime);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/jwk-set+json";
        response.Headers.CacheControl = runtime.JwksCacheControl;
        var body = runtime.Ring.JwksDocument;
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>
    /// RFC 8414 §2 metadata. The endpoints hang off <c>issuer</c> when it is an http(s) URL (RFC 8414 §3: the
    /// metadata is found at the issuer), otherwise off the URL this request reached.
    /// </summary>
    private static async Task WriteMetadataAsync(HttpContext context, TxnTokenRuntime runtime)
    {
        var issuer = runtime.Config.Issuer;
        var root = Uri.TryCreate(issuer, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? issuer.TrimEnd('/')
            : $"{context.Request.Scheme}://{context.Request.Host.Value}";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("issuer", issuer);
            writer.WriteString("token_endpoint", root + TxnTokenProtocol.Endpoints.Token);
            writer.WriteString("jwks_uri", root + TxnTokenProtocol.Endpoints.Jwks);
            writer.WriteStartArray("grant_types_supported");
            writer.WriteStringValue(TxnTokenProtocol.GrantTypeTokenExchange);
            writer.WriteEndArray();
            // Note: REQUIRED by RFC 8414 §2; the service has no authorization endpoint, so it supports none.
            writer.WriteStartArray("response_types_supported");
            writer.WriteEndArray();
            // RFC 8705 §2.1.1: callers authenticate with their mTLS certificate (SPIFFE ID).
            writer.WriteStartArray("token_endpoint_auth_methods_supported");
            writer.WriteStringValue("tls_client_auth");
            writer.WriteEndArray();
            writer.WriteStartArray("requested_token_types_supported");
            writer.WriteStringValue(TxnTokenProtocol.TokenTypeUri);
            writer.WriteEndArray();
            writer.WriteStartArray("subject_token_types_supported");
            writer.WriteStringValue(TxnTokenProtocol.SubjectTokenTypes.AccessToken);
            writer.WriteStringValue(TxnTokenProtocol.SubjectTokenTypes.Jwt);
            writer.WriteStringValue(TxnTokenProtocol.TokenTypeUri);
            writer.WriteEndArray();
            writer.WriteStartArray("txn_token_signing_alg_values_supported");
            foreach (var algorithm in runtime.Ring.Keys.Select(k => k.Algorithm).Distinct(StringComparer.Ordinal))
            {
                writer.WriteStringValue(algorithm);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = runtime.JwksCacheControl;
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private async Task HandleTokenAsync(HttpContext context, ListenerConfig listener, TxnTokenRuntime runtime)
    {
        var started = Stopwatch.GetTimestamp();
        var peer = _peers.Resolve(context, listener);
        var trace = TraceContext.For(context);
        TxnTokenResult result;
        List<KeyValuePair<string, string>>? form = null;
        if (!(context.Request.ContentType ?? "").StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            // RFC 6749 §3.2 / Appendix B: the token endpoint takes form-encoded parameters.
            result = new TxnTokenResult { StatusCode = 400, Error = "invalid_request", Description = "the body must be application/x-www-form-urlencoded" };
        }
        else
        {
            try
            {
                var collection = await context.Request.ReadFormAsync(s_formOptions, context.RequestAborted).ConfigureAwait(false);
                form = new List<KeyValuePair<string, string>>(collection.Count);
                foreach (var (name, values) in collection)
                {
                    foreach (var value in values)
                    {
                        form.Add(new(name, value ?? ""));
                    }
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
            {
                form = null;
            }

            result = form is null
                ? new TxnTokenResult { StatusCode = 400, Error = "invalid_request", Description = "the form body cannot be read (malformed or over the limits)" }
                : await TxnTokenRequestProcessor.ProcessAsync(form, peer.Identity, trace.TraceId, runtime, _authenticator, s_principalOf, _time, context.RequestAborted).ConfigureAwait(false);
        }

        if (result.Minted is { } minted)
        {
            LogIssued(_logger, peer.Identity ?? "-", minted.KeyId, minted.TokenId, result.Transaction ?? "-", result.Replacement);
            await WriteTokenAsync(context, minted).ConfigureAwait(false);
        }
        else
        {
            LogRefused(_logger, peer.Identity ?? "-", result.Error ?? "-", result.Description ?? "-");
            await WriteErrorAsync(context, result.StatusCode, result.Error ?? "invalid_request", result.Description ?? "").ConfigureAwait(false);
        }

        Audit(context, listener, peer.Identity, trace.TraceId, runtime, result, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Draft -10, "Txn-Token Response": <c>token_type</c> N_A, <c>issued_token_type</c> the Txn-Token URN, no refresh token.</summary>
    private static async Task WriteTokenAsync(HttpContext context, MintedTxnToken minted)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("access_token", minted.Token);
            writer.WriteString("issued_token_type", TxnTokenProtocol.TokenTypeUri);
            writer.WriteString("token_type", TxnTokenProtocol.IssuedTokenTypeNotApplicable);
            writer.WriteNumber("expires_in", (long)(minted.ExpiresAt - minted.IssuedAt).TotalSeconds);
            writer.WriteEndObject();
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        // RFC 6749 §5.1: responses carrying tokens are never cached.
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        await response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>RFC 6749 §5.2 error response.</summary>
    private static async Task WriteErrorAsync(HttpContext context, int status, string error, string description)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("error", error);
            if (description.Length > 0)
            {
                writer.WriteString("error_description", description);
            }

            writer.WriteEndObject();
        }

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        // Note: RFC 6749 §5.2 asks a 401 invalid_client for a WWW-Authenticate challenge of the scheme the client
        // used; mTLS (RFC 8705 tls_client_auth, named in the metadata) has no HTTP scheme, so none is made up.
        response.Headers.CacheControl = "no-store";
        await response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>One audit record per token request: the caller, the subject, the issued token's fingerprint/kid/jti.</summary>
    private void Audit(HttpContext context, ListenerConfig listener, string? caller, string traceId, TxnTokenRuntime runtime, TxnTokenResult result, TimeSpan latency)
    {
        TokenFacts? facts = result.SubjectToken;
        if (result.Minted is { } minted)
        {
            facts = new TokenFacts
            {
                Fingerprint = TokenFingerprint.Compute(minted.Token),
                Kid = minted.KeyId,
                Jti = minted.TokenId,
                Issuer = runtime.Config.Issuer,
                ExpiresAt = minted.ExpiresAt,
                Kind = "txn_token",
            };
        }

        var decision = new Decision
        {
            Outcome = result.Succeeded ? DecisionOutcome.Allow : DecisionOutcome.Deny,
            StatusCode = result.StatusCode,
            Reasons = result.Succeeded
                ? [ReasonCodes.TxnTokenIssued + ":" + (result.Replacement ? "replacement" : "exchange")]
                : [ReasonCodes.TxnTokenRefused + ":" + (result.Error ?? "invalid_request")],
            RouteName = null,
            NormalizedPath = context.Request.Path.Value,
            Principal = new Principal
            {
                Workload = caller,
                Subject = result.Subject,
                Scopes = result.Scopes.ToHashSet(StringComparer.Ordinal),
                Issuer = result.Succeeded ? runtime.Config.Issuer : result.SubjectToken?.Issuer,
            },
            Token = facts,
        };
        var request = new AuthorizationRequest
        {
            Method = context.Request.Method,
            Host = context.Request.Host.Host,
            RawPath = context.Request.Path.Value ?? "/",
            GetHeader = static _ => null,
            SourceAddress = HttpRequestAdapter.Normalize(context.Connection.RemoteIpAddress),
            PeerIdentity = caller,
            Listener = listener.Name,
            TraceId = traceId,
            TransactionId = result.Transaction,
        };
        _observer.OnDecision(decision, request, latency, result.StatusCode);
    }

    [LoggerMessage(EventId = 2050, Level = LogLevel.Information, Message = "Issued a Txn-Token to {Caller}: kid {Kid}, jti {Jti}, txn {Transaction}, replacement {Replacement}")]
    private static partial void LogIssued(ILogger logger, string caller, string kid, string jti, string transaction, bool replacement);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Information, Message = "Refused a Txn-Token request from {Caller}: {Error} ({Description})")]
    private static partial void LogRefused(ILogger logger, string caller, string error, string description);

    // Next free id in this range (2050-2099): 2052.
}
