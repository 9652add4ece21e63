using System.Buffers;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Tokens.Cache;
using Gatehouse.Tokens.Introspection;
using Gatehouse.Tokens.Jwks;
using Gatehouse.Tokens.Jwt;
using Gatehouse.Tokens.TxnTokens;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Tokens;

/// <summary>
/// Validates a bearer credential (JWT or opaque) against the candidate issuers of a route. The issuer is chosen by
/// the <c>iss</c> claim, read without trusting anything else in the token, never by trial; a token that is not
/// JWT-shaped goes to the candidates that introspect (RFC 7662). Every outcome is a value: no exception leaves this
/// type on the data plane. Repeat JWTs hit a verified-token cache that costs one SHA-256 and one lookup.
/// </summary>
public sealed class TokenAuthenticator
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly VerifiedTokenCache _cache;

    /// <summary>Creates an authenticator; one per process is enough (the cache is shared across config reloads).</summary>
    public TokenAuthenticator(TimeProvider timeProvider, ILoggerFactory loggerFactory, int verifiedCacheCapacity = 100_000)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _time = timeProvider;
        _logger = loggerFactory.CreateLogger("Gatehouse.Tokens");
        _cache = new VerifiedTokenCache(verifiedCacheCapacity);
    }

    /// <summary>The clock every check of this process reads.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>Raised on each introspection cache lookup: (issuer name, hit).</summary>
    public event Action<string, bool>? IntrospectionCacheLookup;

    /// <summary>Entries in the verified-token cache (for metrics).</summary>
    public int VerifiedCacheCount => _cache.Count;

    /// <summary>Validates <paramref name="token"/> (the raw credential) against <paramref name="candidates"/>.</summary>
    public ValueTask<TokenResult> AuthenticateAsync(string token, IReadOnlyList<IssuerRuntime> candidates, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (string.IsNullOrEmpty(token))
        {
            return new(TokenResult.Fail(ReasonCodes.TokenMissing, "no token", null));
        }

        if (candidates.Count == 0)
        {
            return new(TokenResult.Fail(ReasonCodes.TokenIssuerUnknown, "the route has no issuers", null));
        }

        var maxBytes = 0;
        for (var i = 0; i < candidates.Count; i++)
        {
            maxBytes = Math.Max(maxBytes, candidates[i].Config.MaxTokenBytes);
        }

        if (token.Length > maxBytes)
        {
            // Note: no fingerprint is computed for an oversized token; hashing it is the work the limit avoids.
            return new(TokenResult.Fail(ReasonCodes.TokenTooLarge, $"the token exceeds {maxBytes} bytes", null));
        }

        var hash = TokenFingerprint.ComputeHash(token);
        var now = _time.GetUtcNow();
        if (_cache.TryGet(hash, out var entry))
        {
            var issuer = entry!.Token.Issuer;
            if (entry.NotAfter > now && entry.Key is { Revoked: false } && IsCandidate(issuer, candidates) && (issuer.Keys?.IsUsable(now) ?? true))
            {
                return new(TokenResult.Success(entry.Token));
            }

            if (entry.NotAfter <= now || entry.Key is { Revoked: true })
            {
                _cache.Remove(hash);
            }
        }

        return SlowPathAsync(token, hash, now, candidates, cancellationToken);
    }

    private static bool IsCandidate(IssuerRuntime issuer, IReadOnlyList<IssuerRuntime> candidates)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            if (ReferenceEquals(candidates[i], issuer))
            {
                return true;
            }
        }

        return false;
    }

    private async ValueTask<TokenResult> SlowPathAsync(string token, Hash256 hash, DateTimeOffset now, IReadOnlyList<IssuerRuntime> candidates, CancellationToken cancellationToken)
    {
        var fingerprint = hash.ToFingerprint();
        var dots = JwtParser.CountDots(token, out var firstDot, out var secondDot);
        var jwtShaped = (dots == 2 || dots == 4) && JwtParser.HeaderLooksLikeJson(token.AsSpan(0, firstDot));
        TokenResult result;
        if (!jwtShaped)
        {
            result = await AuthenticateOpaqueAsync(token, hash, fingerprint, candidates, null, cancellationToken).ConfigureAwait(false);
        }
        else if (dots == 4)
        {
            // RFC 7516 §7.1: five segments is a JWE; RFC 8725 §3.1 — Gatehouse accepts signed tokens only.
            result = TokenResult.Fail(ReasonCodes.TokenEncrypted, "encrypted tokens (JWE, RFC 7516) are not accepted", new TokenFacts { Fingerprint = fingerprint });
        }
        else
        {
            result = await AuthenticateJwtAsync(token, hash, fingerprint, firstDot, secondDot, now, candidates, cancellationToken).ConfigureAwait(false);
        }

        if (!result.Succeeded)
        {
            var f = result.Facts;
            TokenLog.TokenRejected(_logger, result.Reason ?? "", f?.IssuerName, fingerprint, f?.Kid, f?.Jti, result.Detail ?? "");
        }

        return result;
    }

    private async ValueTask<TokenResult> AuthenticateJwtAsync(string token, Hash256 hash, string fingerprint, int firstDot, int secondDot, DateTimeOffset now,
        IReadOnlyList<IssuerRuntime> candidates, CancellationToken cancellationToken)
    {
        var jwt = JwtParser.Parse(token, firstDot, secondDot);
        var facts = new TokenFacts
        {
            Fingerprint = fingerprint,
            Kid = jwt.Kid,
            Jti = jwt.Jti,
            Issuer = jwt.Iss,
            Algorithm = jwt.Alg,
            ExpiresAt = jwt.Exp is { } e ? FromNumericDate(e) : null,
            Kind = "jwt",
        };
        if (!jwt.Ok)
        {
            return TokenResult.Fail(jwt.Reason!, jwt.Detail!, facts);
        }

        // Transaction Tokens (draft-ietf-oauth-transaction-tokens-10): the engine hands over the issuers of one
        // slot — access-token issuers for Authorization, txn_token issuers for the txn-token header — so the slot is
        // the kind of the candidates. Explicit typing keeps the two apart in both directions (RFC 8725 §3.11): a
        // Txn-Token is never an access token, and an access token in the txn-token header is never a Txn-Token.
        var txnSlot = candidates[0].Config.Kind == IssuerKind.TxnToken;
        if (txnSlot)
        {
            facts = facts with { Kind = TxnTokenKind };
            // §4.1: typ MUST be txntoken+jwt; compared exactly (what the service mints), not by the RFC 7515 §4.1.9
            // media-type leniency, so a token typed any other way never reaches issuer matching.
            if (!string.Equals(jwt.Typ, TxnTokenProtocol.JwtType, StringComparison.Ordinal))
            {
                return TokenResult.Fail(ReasonCodes.TxnTokenTypeInvalid, $"typ must be {TxnTokenProtocol.JwtType}", facts);
            }
        }
        else if (jwt.Typ is not null && TypeMatches(jwt.Typ, TxnTokenProtocol.JwtType))
        {
            return TokenResult.Fail(ReasonCodes.TxnTokenInAuthorization, "a Txn-Token is accepted only from the txn-token header", facts);
        }

        // The issuer comes from iss alone (never by trying keys of several issuers).
        IssuerRuntime? issuer = null;
        string? tenant = null;
        for (var i = 0; i < candidates.Count; i++)
        {
            // Note: a templated issuer never matches exactly — an iss of the literal template names no tenant.
            if (candidates[i].Template is null && string.Equals(candidates[i].Config.Issuer, jwt.Iss, StringComparison.Ordinal))
            {
                issuer = candidates[i];
                break;
            }
        }

        // An exact issuer wins; otherwise a {tenantid} issuer whose allow-list holds the tenant named in iss.
        for (var i = 0; issuer is null && i < candidates.Count; i++)
        {
            if (candidates[i].Template is { } template && template.TryMatch(jwt.Iss, out var matched))
            {
                issuer = candidates[i];
                tenant = matched;
            }
        }

        if (issuer is null)
        {
            return TokenResult.Fail(ReasonCodes.TokenIssuerUnknown, jwt.Iss is null ? "the token has no iss claim" : "the token's iss is not an issuer of this route", facts);
        }

        facts = facts with { IssuerName = issuer.Name };
        var config = issuer.Config;
        if (token.Length > config.MaxTokenBytes)
        {
            return TokenResult.Fail(ReasonCodes.TokenTooLarge, $"the token exceeds {config.MaxTokenBytes} bytes", facts);
        }

        var alg = jwt.Alg!;
        if (!issuer.AllowedAlgorithms.Contains(alg) || !JwtAlgorithms.IsSupported(alg))
        {
            return TokenResult.Fail(ReasonCodes.TokenAlgorithmNotAllowed, $"alg {alg} is not allowed for this issuer (RFC 8725 §3.1)", facts);
        }

        // RFC 9068 §2.1 / RFC 8725 §3.11: explicit typing, compared case-insensitively, "application/" optional.
        if (config.RequireType is { Length: > 0 } requiredType && !TypeMatches(jwt.Typ, requiredType))
        {
            return TokenResult.Fail(ReasonCodes.TokenTypeMismatch, $"typ must be {requiredType}", facts);
        }

        SecurityKey securityKey;
        SigningKey? signingKey = null;
        if (JwtAlgorithms.Hmac.Contains(alg))
        {
            if (issuer.Hmac is null)
            {
                return TokenResult.Fail(ReasonCodes.TokenAlgorithmNotAllowed, "HMAC tokens need hmac_secret_file (RFC 8725 §3.1)", facts);
            }

            var hmacKey = issuer.Hmac.Get(out var error);
            if (hmacKey is null || hmacKey.Key.Length < JwtAlgorithms.HmacMinKeyBytes(alg))
            {
                TokenLog.HmacSecretUnusable(_logger, issuer.Name, issuer.Hmac.Path, error ?? "shorter than the hash size (RFC 7518 §3.2)");
                return TokenResult.Unavailability(ReasonCodes.KeysUnavailable, "the HMAC secret is unavailable", facts);
            }

            securityKey = hmacKey;
        }
        else
        {
            var keys = issuer.Keys;
            if (keys is null)
            {
                if (issuer.Introspection is not null)
                {
                    // An introspection-only issuer: its JWT-shaped tokens are introspected like opaque ones.
                    return await AuthenticateOpaqueAsync(token, hash, fingerprint, candidates, issuer, cancellationToken).ConfigureAwait(false);
                }

                return TokenResult.Unavailability(ReasonCodes.KeysUnavailable, "the issuer has no key source", facts);
            }

            var lookup = keys.Find(jwt.Kid, alg, out signingKey);
            if (lookup == KeyLookup.UnknownKid)
            {
                // Key rotation: one single-flight re-fetch, rate-limited by min_refresh_interval, then decide.
                try
                {
                    if (await keys.RefreshForUnknownKidAsync(jwt.Kid, cancellationToken).ConfigureAwait(false))
                    {
                        lookup = keys.Find(jwt.Kid, alg, out signingKey);
                    }
                }
                catch (OperationCanceledException)
                {
                    return TokenResult.Unavailability(ReasonCodes.KeysUnavailable, "cancelled while re-fetching keys", facts);
                }
            }

            switch (lookup)
            {
                case KeyLookup.Unavailable:
                    return TokenResult.Unavailability(ReasonCodes.KeysUnavailable, "signing keys are unavailable (never loaded, or older than max_stale)", facts);
                case KeyLookup.UnknownKid:
                    return TokenResult.Fail(ReasonCodes.TokenKeyUnknown, jwt.Kid is null ? "no kid, and not exactly one key fits the algorithm" : "no key with this kid", facts);
                case KeyLookup.AlgorithmMismatch:
                    return TokenResult.Fail(ReasonCodes.TokenKeyAlgorithmMismatch, $"the key for this kid cannot verify {alg} (RFC 8725 §3.1)", facts);
            }

            securityKey = signingKey!.Key;
        }

        // RFC 7515 §5.2 step 8 / RFC 8725 §3.1: verify with the key the issuer's JWKS holds for this kid and alg, over
        // the ASCII of the first two segments, before any claims document is built.
        if (!(signingKey is null ? VerifySignature(token, secondDot, alg, jwt.Signature!, securityKey) : VerifySignature(token, secondDot, alg, jwt.Signature!, signingKey)))
        {
            // Key rotation under the same kid (some IdPs regenerate keys and reuse kids): a signature that fails
            // with a JWKS key earns one single-flight re-fetch, rate-limited by min_refresh_interval like the
            // unknown-kid path, so forged signatures cannot cause a fetch storm. Verify again only if the key changed.
            var refreshed = false;
            if (signingKey is not null && issuer.Keys is { } store)
            {
                try
                {
                    if (await store.RefreshForUnknownKidAsync(jwt.Kid, cancellationToken).ConfigureAwait(false)
                        && store.Find(jwt.Kid, alg, out var current) == KeyLookup.Found
                        && !ReferenceEquals(current!.Key, signingKey.Key))
                    {
                        refreshed = VerifySignature(token, secondDot, alg, jwt.Signature!, current);
                    }
                }
                catch (OperationCanceledException)
                {
                    return TokenResult.Unavailability(ReasonCodes.KeysUnavailable, "cancelled while re-fetching keys", facts);
                }
            }

            if (!refreshed)
            {
                return TokenResult.Fail(ReasonCodes.TokenSignatureInvalid, "the signature does not verify", facts);
            }
        }

        // Lifetime (RFC 7519 §4.1.4, §4.1.5, §4.1.6) with the issuer's clock skew; time from the TimeProvider only.
        var skew = config.ClockSkew;
        if (jwt.Exp is null)
        {
            return TokenResult.Fail(ReasonCodes.TokenExpirationMissing, "the token has no exp claim", facts);
        }

        var expiresAt = FromNumericDate(jwt.Exp.Value);
        if (now >= expiresAt + skew)
        {
            return TokenResult.Fail(ReasonCodes.TokenExpired, "the token has expired", facts);
        }

        if (jwt.Nbf is { } nbf && now + skew < FromNumericDate(nbf))
        {
            return TokenResult.Fail(ReasonCodes.TokenNotYetValid, "the token is not valid yet (nbf)", facts);
        }

        if (jwt.Iat is { } iat && FromNumericDate(iat) > now + skew)
        {
            return TokenResult.Fail(ReasonCodes.TokenIssuedInFuture, "the token was issued in the future (iat)", facts);
        }

        if (!AudienceRules.Matches(jwt.Aud, jwt.ClientId, config))
        {
            return TokenResult.Fail(ReasonCodes.TokenAudienceMismatch, "aud does not include an accepted audience", facts);
        }

        if (config.RequireBoundTokens && jwt.CnfX5tS256 is null)
        {
            return TokenResult.Fail(ReasonCodes.TokenBindingRequired, "the issuer requires certificate-bound tokens (RFC 8705 §3.1: cnf.x5t#S256)", facts);
        }

        if (txnSlot)
        {
            // §4.2: iat is REQUIRED. §4.1 / §10: Txn-Tokens are short-lived; one that lives longer than max_lifetime was
            // not minted for one transaction (a leaked key signing long-lived tokens, or another service's token).
            if (jwt.Iat is not { } issuedAt)
            {
                return TokenResult.Fail(ReasonCodes.TxnTokenClaimMissing + ":iat", "a Txn-Token must carry iat", facts);
            }

            if (expiresAt - FromNumericDate(issuedAt) > config.MaxLifetime)
            {
                return TokenResult.Fail(ReasonCodes.TxnTokenLifetimeExceeded, $"the token lives longer than max_lifetime ({config.MaxLifetime.TotalSeconds:0}s)", facts);
            }
        }

        var claims = JwtParser.ReadClaims(jwt.PayloadBytes!);
        if (txnSlot && !(claims.TryGetProperty(TxnTokenProtocol.Claims.Transaction, out var txn) && txn.ValueKind == JsonValueKind.String && txn.GetString() is { Length: > 0 }))
        {
            // §4.2: txn identifies the transaction across the whole call chain; without it nothing can be traced.
            return TokenResult.Fail(ReasonCodes.TxnTokenClaimMissing + ":txn", "a Txn-Token must carry a non-empty txn", facts);
        }

        if (tenant is not null
            && !(claims.TryGetProperty(IssuerTemplate.TenantClaim, out var tid) && tid.ValueKind == JsonValueKind.String && tid.ValueEquals(tenant)))
        {
            // Note: as Microsoft's own validator does — Entra's keys sign for every tenant, so the tenant in iss
            // must be confirmed by tid before the allow-list means anything.
            return TokenResult.Fail(ReasonCodes.TokenTenantMismatch, "the tid claim does not name the tenant of iss", facts);
        }

        // Note: the cached facts reuse the issuer's and the key's strings (equal by the ordinal lookups above)
        // rather than keep a copy read from each token; a token without kid keeps reporting none. A {tenantid}
        // issuer reports the token's own iss (the tenant's), not the template.
        var validated = new ValidatedToken
        {
            Facts = facts with { Issuer = tenant is null ? config.Issuer : jwt.Iss, Kid = facts.Kid is null ? null : signingKey?.Kid ?? facts.Kid },
            Issuer = issuer,
            Claims = claims,
            ExpiresAt = expiresAt,
            ConfirmationThumbprint = jwt.CnfX5tS256,
            DpopThumbprint = jwt.CnfJkt,
        };

        // Note: HMAC-verified tokens are not cached: a secret rotation could not invalidate them, and HMAC is cheap.
        if (signingKey is not null)
        {
            _cache.Add(hash, new VerifiedTokenCache.Entry(validated, signingKey, expiresAt + skew), now);
        }

        return TokenResult.Success(validated);
    }

    private static bool TypeMatches(string? typ, string required)
    {
        if (typ is null)
        {
            return false;
        }

        const string prefix = "application/";
        var a = typ.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? typ.AsSpan(prefix.Length) : typ.AsSpan();
        var b = required.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? required.AsSpan(prefix.Length) : required.AsSpan();
        return a.Equals(b, StringComparison.OrdinalIgnoreCase);
    }

    internal static DateTimeOffset FromNumericDate(double seconds)
    {
        // Clamp absurd values instead of throwing; they fail the lifetime checks anyway.
        var ms = seconds * 1000;
        ms = Math.Clamp(ms, -62_135_596_800_000d, 253_402_300_799_000d);
        return DateTimeOffset.FromUnixTimeMilliseconds((long)ms);
    }

    /// <summary>The <see cref="TokenFacts.Kind"/> of a Txn-Token.</summary>
    public const string TxnTokenKind = "txn_token";

    // Signing inputs up to this size are encoded on the stack; larger tokens use the pool.
    private const int SigningInputStackLimit = 4096;

    /// <summary>Verifies an asymmetric JWS signature with a JWKS key (its BCL key, imported once).</summary>
    internal static bool VerifySignature(string token, int secondDot, string alg, byte[] signature, SigningKey key)
    {
        var expectedEc = JwtAlgorithms.EcSignatureLength(alg);
        if (expectedEc > 0 && signature.Length != expectedEc)
        {
            return false;
        }

        // RFC 7515 §5.2: the signing input is ASCII(BASE64URL(header) || '.' || BASE64URL(payload)); the parser
        // has checked that both segments are base64url, so each char is one byte.
        byte[]? rented = null;
        var input = secondDot <= SigningInputStackLimit
            ? stackalloc byte[SigningInputStackLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(secondDot));
        try
        {
            var n = Encoding.ASCII.GetBytes(token.AsSpan(0, secondDot), input);
            return key.Verify(alg, input[..n], signature);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Verifies an HMAC JWS signature (RFC 7518 §3.2) through IdentityModel (constant-time compare).</summary>
    internal static bool VerifySignature(string token, int secondDot, string alg, byte[] signature, SecurityKey key)
    {
        // RFC 7515 §5.2: the signing input is ASCII(BASE64URL(header) || '.' || BASE64URL(payload)).
        var input = Encoding.ASCII.GetBytes(token, 0, secondDot);
        SignatureProvider? provider = null;
        var factory = key.CryptoProviderFactory;
        try
        {
            provider = factory.CreateForVerifying(key, alg);
            return provider.Verify(input, signature);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or System.Security.Cryptography.CryptographicException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            if (provider is not null)
            {
                factory.ReleaseSignatureProvider(provider);
            }
        }
    }

    // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    private static bool IsB64Token(string token)
    {
        var i = 0;
        for (; i < token.Length; i++)
        {
            var c = token[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/'))
            {
                break;
            }
        }

        if (i == 0)
        {
            return false;
        }

        for (; i < token.Length; i++)
        {
            if (token[i] != '=')
            {
                return false;
            }
        }

        return true;
    }

    private async ValueTask<TokenResult> AuthenticateOpaqueAsync(string token, Hash256 hash, string fingerprint, IReadOnlyList<IssuerRuntime> candidates,
        IssuerRuntime? only, CancellationToken cancellationToken)
    {
        var facts = new TokenFacts { Fingerprint = fingerprint, Kind = only is null ? "opaque" : "jwt" };
        if (!IsB64Token(token))
        {
            return TokenResult.Fail(ReasonCodes.TokenMalformed, "the token has characters outside the RFC 6750 §2.1 b64token syntax", facts);
        }

        IntrospectionResult? unavailable = null;
        IntrospectionResult? inactive = null;
        var any = false;
        for (var i = 0; i < candidates.Count; i++)
        {
            var issuer = candidates[i];
            var client = issuer.Introspection;
            if (client is null || (only is not null && !ReferenceEquals(issuer, only)))
            {
                continue;
            }

            any = true;
            var hit = client.TryGetCached(hash, _time.GetUtcNow(), out var result);
            IntrospectionCacheLookup?.Invoke(issuer.Name, hit);
            if (!hit)
            {
                try
                {
                    result = await client.IntrospectAsync(token, hash, fingerprint, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return TokenResult.Unavailability(ReasonCodes.IntrospectionUnavailable, "cancelled while introspecting", facts);
                }
            }

            if (result!.Token is not null)
            {
                return TokenResult.Success(result.Token);
            }

            if (result.Unavailable)
            {
                unavailable ??= result;
            }
            else
            {
                inactive ??= result;
            }
        }

        if (!any)
        {
            return TokenResult.Fail(ReasonCodes.TokenMalformed, "the token is not a JWT and no issuer of this route introspects tokens", facts);
        }

        // Fail closed: an unreachable introspection endpoint is a 503, never an allow and never a 401.
        if (unavailable is not null)
        {
            return TokenResult.Unavailability(unavailable.Reason!, unavailable.Detail!, unavailable.Facts ?? facts);
        }

        return TokenResult.Fail(inactive!.Reason!, inactive.Detail!, inactive.Facts ?? facts);
    }
}
