using Gatehouse.Http;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Gatehouse.Tokens.Introspection;
using Gatehouse.Tokens.Jwt;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace Gatehouse.Outbound;

/// <summary>
/// The OAuth 2.0 token endpoint of one outbound route: finds the endpoint (configured, or the issuer's discovery
/// document), authenticates the client (RFC 6749 §2.3.1 basic/post, RFC 7523 private_key_jwt, RFC 8705 §2
/// tls_client_auth over the channel's client certificate), posts a grant and reads the answer: RFC 6749 §5.1 /
/// RFC 8693 §2.2.1 success, RFC 6749 §5.2 error. Every call has a timeout and a circuit breaker (Polly.Core); a
/// refusal is an answer, not a failure, so it never opens the circuit.
/// </summary>
public sealed class TokenEndpointClient : IDisposable
{
    /// <summary>RFC 8693 §3 token type identifiers.</summary>
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";
    public const string JwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
    public const string TokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
    /// <summary>draft-ietf-oauth-transaction-tokens-10 §11: the Txn-Token's token type identifier.</summary>
    public const string TxnTokenType = "urn:ietf:params:oauth:token-type:txn_token";

    private const int MaxResponseBytes = 64 * 1024;
    private static readonly TimeSpan s_defaultLifetime = TimeSpan.FromSeconds(60);

    private readonly OutboundTokenConfig _config;
    private readonly string _route;
    private readonly HttpMessageInvoker _http;
    private readonly bool _ownsHttp;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly SecretFile? _secret;
    private readonly ClientAssertion? _assertion;
    private readonly Uri? _discovery;
    private readonly SemaphoreSlim _discoveryGate = new(1, 1);
    private Uri? _endpoint;

    /// <param name="config">The route's <c>outbound.token</c>.</param>
    /// <param name="route">The route name (logs and metrics).</param>
    /// <param name="discoveryUrl">The issuer's discovery document, used when <c>token_endpoint</c> is not set.</param>
    /// <param name="http">The channel to the token endpoint (with the client certificate for tls_client_auth).</param>
    /// <param name="ownsHttp">Dispose <paramref name="http"/> with this client.</param>
    /// <param name="time">Clock of timeouts, breaker and expiry.</param>
    /// <param name="logger">Where failures are logged (fingerprints only).</param>
    public TokenEndpointClient(OutboundTokenConfig config, string route, string? discoveryUrl, HttpMessageInvoker http, bool ownsHttp, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _route = route;
        _http = http;
        _ownsHttp = ownsHttp;
        _time = time;
        _logger = logger;
        _pipeline = OutboundHttp.CreatePipeline(time, config.Timeout, config.CircuitBreaker);
        _secret = config.ClientSecretFile is null ? null : new SecretFile(config.ClientSecretFile);
        _assertion = config.ClientAuth == OutboundClientAuth.PrivateKeyJwt && config.ClientKeyFile is not null
            ? new ClientAssertion(config.ClientKeyFile, config.ClientKeyId)
            : null;
        if (config.TokenEndpoint is not null && OutboundHttp.IsAllowedUrl(config.TokenEndpoint, out var endpoint))
        {
            _endpoint = endpoint;
        }

        if (discoveryUrl is not null && OutboundHttp.IsAllowedUrl(discoveryUrl, out var discovery))
        {
            _discovery = discovery;
        }
    }

    /// <summary>Raised after each call that reached (or tried to reach) the endpoint: (grant, outcome).</summary>
    public event Action<string, TokenEndpointOutcome>? Completed;

    /// <summary>RFC 6749 §4.4.2 client credentials grant.</summary>
    public Task<TokenEndpointResult> ClientCredentialsAsync(IReadOnlyList<string> scopes, string? audience, string? resource, CancellationToken cancellationToken)
    {
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        AddNarrowing(form, scopes, audience, resource);
        return SendAsync("client_credentials", form, cancellationToken);
    }

    /// <summary>RFC 8693 §2.1 token exchange: the subject token (and optionally an actor token) for one narrowed to the hop.</summary>
    public Task<TokenEndpointResult> ExchangeAsync(string subjectToken, string? actorToken, IReadOnlyList<string> scopes, string? audience, string? resource, CancellationToken cancellationToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", TokenExchangeGrant),
            new("subject_token", subjectToken),
            new("subject_token_type", AccessTokenType),
            new("requested_token_type", AccessTokenType),
        };
        if (actorToken is not null)
        {
            form.Add(new("actor_token", actorToken));
            form.Add(new("actor_token_type", AccessTokenType));
        }

        AddNarrowing(form, scopes, audience, resource);
        return SendAsync("exchange", form, cancellationToken);
    }

    /// <summary>
    /// A replacement Txn-Token (draft-ietf-oauth-transaction-tokens-10 §7.4): the RFC 8693 request of §7.1 with the
    /// current Txn-Token as <c>subject_token</c>, typed <c>txn_token</c>, asking for a <c>txn_token</c> with
    /// <paramref name="scopes"/>. The answer (§7.3) carries the new Txn-Token in <c>access_token</c>, with
    /// <c>issued_token_type</c> <c>txn_token</c> and <c>token_type</c> <c>N_A</c> (RFC 8693 §2.2.1: not an access token).
    /// </summary>
    public Task<TokenEndpointResult> ReplaceTxnTokenAsync(string txnToken, string audience, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", TokenExchangeGrant),
            new("requested_token_type", TxnTokenType),
            new("subject_token", txnToken),
            new("subject_token_type", TxnTokenType),
        };
        AddNarrowing(form, scopes, audience, resource: null);
        return SendAsync("txn_token_replace", form, cancellationToken, expectTxnToken: true);
    }

    private static void AddNarrowing(List<KeyValuePair<string, string>> form, IReadOnlyList<string> scopes, string? audience, string? resource)
    {
        if (audience is not null)
        {
            form.Add(new("audience", audience));
        }

        if (resource is not null)
        {
            // RFC 8707 §2.
            form.Add(new("resource", resource));
        }

        if (scopes.Count > 0)
        {
            // RFC 6749 §3.3: space-delimited.
            form.Add(new("scope", string.Join(' ', scopes)));
        }
    }

    private async Task<TokenEndpointResult> SendAsync(string grant, List<KeyValuePair<string, string>> form, CancellationToken cancellationToken, bool expectTxnToken = false)
    {
        var result = await SendCoreAsync(form, expectTxnToken, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case TokenEndpointOutcome.Issued:
                OutboundTokenLog.TokenIssued(_logger, _route, grant, result.Token!.Fingerprint, result.Token.ExpiresAt);
                break;
            case TokenEndpointOutcome.Refused:
                OutboundTokenLog.TokenRefused(_logger, _route, grant, result.Error ?? "", result.Detail ?? "");
                break;
            default:
                OutboundTokenLog.TokenUnavailable(_logger, _route, grant, result.Detail ?? "");
                break;
        }

        Completed?.Invoke(grant, result.Outcome);
        return result;
    }

    private async Task<TokenEndpointResult> SendCoreAsync(List<KeyValuePair<string, string>> form, bool expectTxnToken, CancellationToken cancellationToken)
    {
        var endpoint = _endpoint ?? await DiscoverAsync(cancellationToken).ConfigureAwait(false);
        if (endpoint is null)
        {
            return TokenEndpointResult.Unavailable("the token endpoint is unknown (discovery failed, or it is not https)");
        }

        var clientId = _config.ClientId ?? "";
        string? basic = null;
        switch (_config.ClientAuth)
        {
            case OutboundClientAuth.ClientSecretBasic:
            case OutboundClientAuth.ClientSecretPost:
                var secret = _secret?.Read(out var secretError);
                if (secret is null)
                {
                    return TokenEndpointResult.Unavailable("client secret unreadable");
                }

                if (_config.ClientAuth == OutboundClientAuth.ClientSecretBasic)
                {
                    // RFC 6749 §2.3.1: each part form-urlencoded (Appendix B) before joining and base64 (RFC 7617).
                    basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(
                        IntrospectionClient.FormUrlEncode(clientId) + ":" + IntrospectionClient.FormUrlEncode(secret)));
                }
                else
                {
                    form.Add(new("client_id", clientId));
                    form.Add(new("client_secret", secret));
                }

                break;
            case OutboundClientAuth.PrivateKeyJwt:
                var audience = _config.ClientAssertionAudience ?? endpoint.AbsoluteUri;
                var assertion = _assertion?.Create(clientId, audience, _time.GetUtcNow(), out var keyError);
                if (assertion is null)
                {
                    return TokenEndpointResult.Unavailable("client assertion key unusable");
                }

                // RFC 7523 §2.2 (client_id is optional there; Okta and Entra want it).
                form.Add(new("client_id", clientId));
                form.Add(new("client_assertion_type", ClientAssertion.AssertionType));
                form.Add(new("client_assertion", assertion));
                break;
            case OutboundClientAuth.TlsClientAuth:
                // RFC 8705 §2: the certificate on the channel authenticates; client_id names the client (a Txn-Token
                // Service knows its callers by the certificate's SPIFFE ID alone, so there may be none).
                if (clientId.Length > 0)
                {
                    form.Add(new("client_id", clientId));
                }

                break;
        }

        try
        {
            return await _pipeline.ExecuteAsync(async ct =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
                {
                    Content = new FormUrlEncodedContent(form),
                };
                if (basic is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
                }

                request.Headers.Accept.ParseAdd("application/json");
                using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
                var body = await OutboundHttp.ReadLimitedAsync(response, MaxResponseBytes, ct).ConfigureAwait(false)
                    ?? throw new InvalidDataException($"token response larger than {MaxResponseBytes} bytes");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return expectTxnToken ? ReadTxnTokenSuccess(body) : ReadSuccess(body);
                }

                // RFC 6749 §5.2: 400 (or 401 for invalid_client) with a JSON error. Anything else — 5xx, 429, a
                // proxy's HTML page — is an outage and counts against the circuit.
                if ((int)response.StatusCode is >= 400 and < 500 and not 429 && ReadError(body) is { } refused)
                {
                    return refused;
                }

                throw new HttpRequestException($"token endpoint answered HTTP {(int)response.StatusCode}", null, response.StatusCode);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException)
        {
            return TokenEndpointResult.Unavailable("circuit open (recent calls failed)");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return TokenEndpointResult.Unavailable(OutboundHttp.Describe(ex));
        }
    }

    private TokenEndpointResult ReadSuccess(byte[] body)
    {
        if (StrictJson.TryParseObject(body, StrictJson.DefaultMaxDepth, out var root, out var detail) != StrictJson.Error.None)
        {
            throw new InvalidDataException("token response is not a JSON object: " + detail);
        }

        // RFC 6749 §5.1: access_token and token_type are REQUIRED.
        if (Str(root, "access_token") is not { Length: > 0 } token)
        {
            throw new InvalidDataException("token response has no access_token");
        }

        // RFC 6750: only bearer tokens can be sent as "Authorization: Bearer". A DPoP-bound (RFC 9449) or N_A
        // (RFC 8693 §2.2.1, not an access token) answer cannot be attached.
        var tokenType = Str(root, "token_type");
        if (!string.Equals(tokenType, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"token_type '{Printable(tokenType)}' is not Bearer");
        }

        var issuedType = Str(root, "issued_token_type");
        if (issuedType is not null && issuedType != AccessTokenType && issuedType != JwtTokenType)
        {
            throw new InvalidDataException($"issued_token_type '{Printable(issuedType)}' is not an access token");
        }

        var now = _time.GetUtcNow();
        DateTimeOffset expiresAt;
        if (root.TryGetProperty("expires_in", out var expiresIn))
        {
            // RFC 6749 §5.1 says a number; some servers send a string.
            double seconds;
            if (!(expiresIn.ValueKind == JsonValueKind.Number && expiresIn.TryGetDouble(out seconds))
                && !(expiresIn.ValueKind == JsonValueKind.String && double.TryParse(expiresIn.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out seconds)))
            {
                throw new InvalidDataException("expires_in is not a number");
            }

            expiresAt = now + TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 366 * 24 * 3600));
        }
        else
        {
            // Note: without expires_in the JWT's own exp bounds the cache (read without verifying: it can only make
            // the cached lifetime shorter than what the server meant); an opaque token is kept for a minute.
            expiresAt = JwtExpiry(token) ?? now + s_defaultLifetime;
        }

        if (JwtExpiry(token) is { } exp && exp < expiresAt)
        {
            expiresAt = exp;
        }

        return TokenEndpointResult.Issued(new IssuedToken
        {
            AccessToken = token,
            Fingerprint = TokenFingerprint.Compute(token),
            ExpiresAt = expiresAt,
            Scope = Str(root, "scope"),
            IssuedTokenType = issuedType,
        });
    }

    private TokenEndpointResult ReadTxnTokenSuccess(byte[] body)
    {
        if (StrictJson.TryParseObject(body, StrictJson.DefaultMaxDepth, out var root, out var detail) != StrictJson.Error.None)
        {
            throw new InvalidDataException("token response is not a JSON object: " + detail);
        }

        if (Str(root, "access_token") is not { Length: > 0 } token)
        {
            throw new InvalidDataException("token response has no access_token");
        }

        // draft-ietf-oauth-transaction-tokens-10 §7.3: issued_token_type is the txn_token URN; anything else (an
        // access token) must never be sent in the txn-token header.
        var issuedType = Str(root, "issued_token_type");
        if (!string.Equals(issuedType, TxnTokenType, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"issued_token_type '{Printable(issuedType)}' is not a Txn-Token");
        }

        var now = _time.GetUtcNow();
        // Note: the Txn-Token's own exp bounds its use (read, not verified: the next hop verifies it); without one a
        // replacement is used once and never cached past a minute.
        var expiresAt = JwtExpiry(token) ?? now + s_defaultLifetime;
        return TokenEndpointResult.Issued(new IssuedToken
        {
            AccessToken = token,
            Fingerprint = TokenFingerprint.Compute(token),
            ExpiresAt = expiresAt,
            Scope = Str(root, "scope"),
            IssuedTokenType = issuedType,
        });
    }

    private static TokenEndpointResult? ReadError(byte[] body)
    {
        if (StrictJson.TryParseObject(body, StrictJson.DefaultMaxDepth, out var root, out _) != StrictJson.Error.None
            || Str(root, "error") is not { } error)
        {
            return null;
        }

        var description = Str(root, "error_description");
        return TokenEndpointResult.Refused(SafeErrorCode(error), description is null ? null : Printable(description));
    }

    /// <summary>
    /// The RFC 6749 §5.2 error as a reason suffix: registered codes are lower-case letters and '_'; anything else
    /// (or too long) becomes <c>invalid_response</c>, so a server cannot put arbitrary text into a reason header.
    /// </summary>
    internal static string SafeErrorCode(string error)
    {
        if (error.Length is 0 or > 64)
        {
            return "invalid_response";
        }

        foreach (var c in error)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '.' or '-'))
            {
                return "invalid_response";
            }
        }

        return error;
    }

    private static string Printable(string? value)
    {
        if (value is null)
        {
            return "";
        }

        var builder = new StringBuilder(Math.Min(value.Length, 200));
        foreach (var c in value)
        {
            if (builder.Length == 200)
            {
                break;
            }

            builder.Append(c is >= ' ' and < (char)0x7F ? c : '?');
        }

        return builder.ToString();
    }

    private static DateTimeOffset? JwtExpiry(string token)
    {
        var dots = JwtParser.CountDots(token, out var first, out var second);
        if (dots != 2)
        {
            return null;
        }

        var jwt = JwtParser.Parse(token, first, second);
        return jwt.Exp is { } exp ? TokenAuthenticator.FromNumericDate(exp) : null;
    }

    private async Task<Uri?> DiscoverAsync(CancellationToken cancellationToken)
    {
        if (_discovery is null)
        {
            return null;
        }

        await _discoveryGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_endpoint is not null)
            {
                return _endpoint;
            }

            var body = await _pipeline.ExecuteAsync(async ct =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, _discovery);
                using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new HttpRequestException($"discovery answered HTTP {(int)response.StatusCode}", null, response.StatusCode);
                }

                return await OutboundHttp.ReadLimitedAsync(response, 512 * 1024, ct).ConfigureAwait(false)
                    ?? throw new InvalidDataException("discovery document too large");
            }, cancellationToken).ConfigureAwait(false);
            if (StrictJson.TryParseObject(body, StrictJson.DefaultMaxDepth, out var root, out _) == StrictJson.Error.None
                && Str(root, "token_endpoint") is { } url
                && OutboundHttp.IsAllowedUrl(url, out var endpoint))
            {
                _endpoint = endpoint;
                return endpoint;
            }

            OutboundTokenLog.DiscoveryFailed(_logger, _route, "no usable token_endpoint in the discovery document");
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            OutboundTokenLog.DiscoveryFailed(_logger, _route, OutboundHttp.Describe(ex));
            return null;
        }
        finally
        {
            _discoveryGate.Release();
        }
    }

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public void Dispose()
    {
        _assertion?.Dispose();
        _discoveryGate.Dispose();
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
