using Gatehouse.Http;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tokens.Cache;
using Gatehouse.Tokens.Jwt;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace Gatehouse.Tokens.Introspection;

/// <summary>The answer for one token: active (Token), inactive (Reason), or unavailable.</summary>
internal sealed class IntrospectionResult
{
    public ValidatedToken? Token { get; init; }
    public string? Reason { get; init; }
    public string? Detail { get; init; }
    public bool Unavailable { get; init; }
    public DateTimeOffset NotAfter { get; init; }
    public TokenFacts? Facts { get; init; }
}

/// <summary>
/// RFC 7662 token introspection for one issuer: client_secret_basic or client_secret_post (RFC 6749 §2.3.1),
/// results cached by the token's SHA-256 (never the raw token), positive TTL = min(cache_ttl, exp − now), negative
/// TTL = negative_cache_ttl, one request per token at a time (single-flight), a timeout and a circuit breaker.
/// Unavailable answers are never cached and never an allow.
/// </summary>
internal sealed class IntrospectionClient
{
    private readonly IssuerRuntime _owner;
    private readonly IssuerConfig _issuer;
    private readonly IntrospectionConfig _config;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly SecretFile? _secret;
    private readonly ConcurrentDictionary<Hash256, IntrospectionResult> _cache = new();
    private readonly ConcurrentDictionary<Hash256, Task<IntrospectionResult>> _inflight = new();
    private readonly Uri? _endpoint;
    private readonly State.IStateStore? _shared;

    public IntrospectionClient(IssuerRuntime owner, IssuerConfig issuer, HttpClient http, TimeProvider time, ILogger logger, State.IStateStore? shared = null)
    {
        _shared = shared;
        _owner = owner;
        _issuer = issuer;
        _config = issuer.Introspection!;
        _http = http;
        _time = time;
        _logger = logger;
        _pipeline = OutboundHttp.CreatePipeline(time, _config.Timeout, issuer.CircuitBreaker);
        _secret = _config.ClientSecretFile is null ? null : new SecretFile(_config.ClientSecretFile);
        _endpoint = OutboundHttp.IsAllowedUrl(_config.Endpoint, out var uri) ? uri : null;
    }

    /// <summary>Answers currently cached (approximate under concurrency); for tests and diagnostics.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Raised after every request that reached (or tried to reach) the endpoint.</summary>
    public event Action<bool>? RequestCompleted;

    public bool TryGetCached(in Hash256 hash, DateTimeOffset now, out IntrospectionResult? result)
    {
        if (_cache.TryGetValue(hash, out result))
        {
            if (result.NotAfter > now)
            {
                return true;
            }

            _cache.TryRemove(hash, out _);
        }

        result = null;
        return false;
    }

    /// <summary>Introspects (single-flight per token); the shared request is not cancelled by one caller.</summary>
    public async Task<IntrospectionResult> IntrospectAsync(string token, Hash256 hash, string fingerprint, CancellationToken cancellationToken)
    {
        var mine = new TaskCompletionSource<IntrospectionResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var shared = _inflight.GetOrAdd(hash, mine.Task);
        if (ReferenceEquals(shared, mine.Task))
        {
            _ = Task.Run(async () =>
            {
                IntrospectionResult result;
                try
                {
                    result = await RequestSharedAsync(token, hash, fingerprint).ConfigureAwait(false);
                    if (!result.Unavailable)
                    {
                        if (_cache.Count >= _config.CacheMaxEntries)
                        {
                            Trim();
                        }

                        _cache[hash] = result;
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    result = Unavailable(fingerprint, OutboundHttp.Describe(ex));
                }

                _inflight.TryRemove(hash, out _);
                mine.SetResult(result);
            }, CancellationToken.None);
        }

        return await shared.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Trim()
    {
        var now = _time.GetUtcNow();
        foreach (var pair in _cache)
        {
            if (pair.Value.NotAfter <= now)
            {
                _cache.TryRemove(pair.Key, out _);
            }
        }

        foreach (var pair in _cache)
        {
            if (_cache.Count < _config.CacheMaxEntries * 9 / 10)
            {
                break;
            }

            _cache.TryRemove(pair.Key, out _);
        }
    }

    private TokenFacts Facts(string fingerprint, string? jti = null, DateTimeOffset? exp = null) => new()
    {
        Fingerprint = fingerprint,
        Issuer = _issuer.Issuer,
        IssuerName = _issuer.Name,
        Jti = jti,
        ExpiresAt = exp,
        Kind = "opaque",
    };

    private IntrospectionResult Unavailable(string fingerprint, string detail)
    {
        TokenLog.IntrospectionFailed(_logger, _issuer.Name, detail);
        return new IntrospectionResult { Unavailable = true, Reason = ReasonCodes.IntrospectionUnavailable, Detail = "introspection unavailable: " + detail, Facts = Facts(fingerprint) };
    }

    private IntrospectionResult Inactive(string fingerprint, string reason, string detail, DateTimeOffset now, string? jti = null)
    {
        TokenLog.IntrospectionInactive(_logger, _issuer.Name, fingerprint);
        return new IntrospectionResult { Reason = reason, Detail = detail, NotAfter = now + _config.NegativeCacheTtl, Facts = Facts(fingerprint, jti) };
    }

    /// <summary>
    /// With a shared store (Redis): an answer another replica got is reused until the moment that replica would have
    /// dropped it (stored with the value), so sharing never lengthens how long a revoked token keeps working. The
    /// value is the authorization server's response (claims, never the token) under
    /// <c>introspection:&lt;issuer&gt;:&lt;SHA-256 of the token&gt;</c>. A store that does not answer is a miss.
    /// </summary>
    private async Task<IntrospectionResult> RequestSharedAsync(string token, Hash256 hash, string fingerprint)
    {
        if (_shared is null)
        {
            return await RequestAsync(token, fingerprint, null).ConfigureAwait(false);
        }

        var key = "introspection:" + _issuer.Name + ":" + hash.ToHex();
        var stored = await _shared.GetAsync(key, CancellationToken.None).ConfigureAwait(false);
        if (stored.Found && stored.Value!.Length > sizeof(long))
        {
            var notAfter = new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(stored.Value), TimeSpan.Zero);
            var now = _time.GetUtcNow();
            if (notAfter > now)
            {
                var shared = Interpret(stored.Value.AsSpan(sizeof(long)).ToArray(), fingerprint);
                if (!shared.Unavailable)
                {
                    return shared.NotAfter <= notAfter ? shared : new IntrospectionResult
                    {
                        Token = shared.Token,
                        Reason = shared.Reason,
                        Detail = shared.Detail,
                        NotAfter = notAfter,
                        Facts = shared.Facts,
                    };
                }
            }
        }

        return await RequestAsync(token, fingerprint, key).ConfigureAwait(false);
    }

    private async Task<IntrospectionResult> RequestAsync(string token, string fingerprint, string? sharedKey)
    {
        if (_endpoint is null)
        {
            return Unavailable(fingerprint, "endpoint is not https (plain http is allowed only to loopback)");
        }

        string? secret = null;
        if (_secret is not null)
        {
            secret = _secret.Read(out var error);
            if (secret is null)
            {
                TokenLog.IntrospectionSecretUnreadable(_logger, _issuer.Name, _secret.Path, error ?? "");
                return Unavailable(fingerprint, "client secret unreadable");
            }
        }

        byte[] body;
        try
        {
            body = await _pipeline.ExecuteAsync(async ct =>
            {
                using var request = BuildRequest(token, secret);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new HttpRequestException($"introspection answered HTTP {(int)response.StatusCode}", null, response.StatusCode);
                }

                return await OutboundHttp.ReadLimitedAsync(response, _config.MaxResponseBytes, ct).ConfigureAwait(false)
                    ?? throw new InvalidDataException($"introspection response is larger than max_response_bytes ({_config.MaxResponseBytes} bytes)");
            }, CancellationToken.None).ConfigureAwait(false);
            RequestCompleted?.Invoke(true);
        }
        catch (BrokenCircuitException)
        {
            TokenLog.IntrospectionCircuitOpen(_logger, _issuer.Name);
            return Unavailable(fingerprint, "circuit open (recent calls failed)");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            RequestCompleted?.Invoke(false);
            return Unavailable(fingerprint, OutboundHttp.Describe(ex));
        }

        var result = Interpret(body, fingerprint);
        if (sharedKey is not null && !result.Unavailable)
        {
            var ttl = result.NotAfter - _time.GetUtcNow();
            if (ttl > TimeSpan.Zero)
            {
                var value = new byte[sizeof(long) + body.Length];
                BinaryPrimitives.WriteInt64LittleEndian(value, result.NotAfter.UtcTicks);
                body.CopyTo(value, sizeof(long));
                await _shared!.SetAsync(sharedKey, value, ttl, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return result;
    }

    private HttpRequestMessage BuildRequest(string token, string? secret)
    {
        // RFC 7662 §2.1: POST, application/x-www-form-urlencoded, token (+ token_type_hint).
        var form = new StringBuilder("token=").Append(FormUrlEncode(token)).Append("&token_type_hint=access_token");
        var request = new HttpRequestMessage(HttpMethod.Post, _endpoint);
        if (string.Equals(_config.AuthMethod, "client_secret_post", StringComparison.Ordinal))
        {
            // RFC 6749 §2.3.1: client credentials in the request body.
            form.Append("&client_id=").Append(FormUrlEncode(_config.ClientId));
            if (secret is not null)
            {
                form.Append("&client_secret=").Append(FormUrlEncode(secret));
            }
        }
        else
        {
            // RFC 6749 §2.3.1: id and secret are each form-urlencoded (Appendix B) BEFORE being joined with ':' and
            // base64-encoded for HTTP Basic (RFC 7617). Skipping this breaks secrets containing ':', '+', '%'...
            var basic = FormUrlEncode(_config.ClientId) + ":" + FormUrlEncode(secret ?? "");
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
        }

        request.Headers.Accept.ParseAdd("application/json");
        request.Content = new StringContent(form.ToString(), Encoding.UTF8, "application/x-www-form-urlencoded");
        return request;
    }

    /// <summary>application/x-www-form-urlencoded (RFC 6749 Appendix B, WHATWG URL §5.2): space → '+'.</summary>
    internal static string FormUrlEncode(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'*' or (byte)'-' or (byte)'.' or (byte)'_')
            {
                sb.Append((char)b);
            }
            else if (b == (byte)' ')
            {
                sb.Append('+');
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private IntrospectionResult Interpret(byte[] body, string fingerprint)
    {
        var now = _time.GetUtcNow();
        var parse = StrictJson.TryParseObject(body, StrictJson.DefaultMaxDepth, out var root, out var detail);
        if (parse != StrictJson.Error.None)
        {
            return Unavailable(fingerprint, "introspection response is not a valid JSON object: " + (detail ?? parse.ToString()));
        }

        // RFC 7662 §2.2: "active" is REQUIRED and boolean; anything else is not an active token.
        if (!root.TryGetProperty("active", out var active) || active.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return Unavailable(fingerprint, "introspection response has no boolean \"active\" (RFC 7662 §2.2)");
        }

        var jti = Str(root, "jti");
        if (active.ValueKind == JsonValueKind.False)
        {
            return Inactive(fingerprint, ReasonCodes.TokenInactive, "the authorization server reports the token inactive (RFC 7662 §2.2)", now, jti);
        }

        DateTimeOffset? exp = null;
        if (root.TryGetProperty("exp", out var e))
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out var seconds))
            {
                return Unavailable(fingerprint, "introspection exp is not a number");
            }

            // Clamped like JWT dates: an absurd exp is a decision (expired or far future), never an exception → 503.
            exp = TokenAuthenticator.FromNumericDate(seconds);
            if (exp <= now - _issuer.ClockSkew)
            {
                return Inactive(fingerprint, ReasonCodes.TokenExpired, "the token has expired", now, jti);
            }
        }

        if (root.TryGetProperty("nbf", out var nbf) && nbf.ValueKind == JsonValueKind.Number && nbf.TryGetDouble(out var nbfSeconds)
            && TokenAuthenticator.FromNumericDate(nbfSeconds) > now + _issuer.ClockSkew)
        {
            return Inactive(fingerprint, ReasonCodes.TokenNotYetValid, "the token is not valid yet (nbf)", now, jti);
        }

        var iss = Str(root, "iss");
        if (iss is not null && !string.Equals(iss, _issuer.Issuer, StringComparison.Ordinal))
        {
            return Inactive(fingerprint, ReasonCodes.TokenIssuerUnknown, "introspection iss differs from the configured issuer", now, jti);
        }

        // Note: RFC 7662 makes aud optional. When present it must match (any-of); when absent the authorization
        // server vouched for the token to this client, which is accepted.
        if (root.TryGetProperty("aud", out var aud) && !AudienceRules.Matches(aud, null, _issuer))
        {
            return Inactive(fingerprint, ReasonCodes.TokenAudienceMismatch, "introspection aud does not include an accepted audience", now, jti);
        }

        var ttl = _config.CacheTtl;
        if (exp is { } x && x - now < ttl)
        {
            ttl = x - now;
        }

        var notAfter = now + (ttl > TimeSpan.Zero ? ttl : TimeSpan.Zero);
        var facts = Facts(fingerprint, jti, exp);
        TokenLog.IntrospectionActive(_logger, _issuer.Name, fingerprint, ttl);
        return new IntrospectionResult
        {
            NotAfter = notAfter,
            Facts = facts,
            Token = new ValidatedToken
            {
                Facts = facts,
                Issuer = _owner,
                Claims = root,
                ExpiresAt = exp ?? notAfter,
                ConfirmationThumbprint = root.TryGetProperty("cnf", out var cnf) && cnf.ValueKind == JsonValueKind.Object ? Str(cnf, "x5t#S256") : null,
                // RFC 9449 §6.2: an introspection response of a DPoP-bound token carries cnf.jkt.
                DpopThumbprint = cnf.ValueKind == JsonValueKind.Object ? Str(cnf, "jkt") : null,
            },
        };
    }

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
