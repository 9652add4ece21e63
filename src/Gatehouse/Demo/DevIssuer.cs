using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Cli.Demo;

/// <summary>
/// A built-in development OAuth 2.0 issuer on loopback: OIDC discovery, JWKS and a token endpoint with the
/// client-credentials grant (RFC 6749 §4.4) and the token-exchange grant (RFC 8693 §2), with a fresh RSA key each
/// run; tokens are signed and checked with Microsoft.IdentityModel. For the demo and tests only.
/// </summary>
internal sealed class DevIssuer : IAsyncDisposable
{
    public const string Audience = "orders";
    /// <summary>The audience clients may exchange tokens for (RFC 8693 <c>audience</c>), and its scope.</summary>
    public const string ExchangeAudience = "payments";
    public const string ExchangeScope = "payments.charge";
    private const string TokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";
    private const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    private readonly WebApplication _app;
    private readonly RsaSecurityKey _key;
    private readonly Dictionary<string, (string Secret, string[] Scopes)> _clients;

    private DevIssuer(WebApplication app, RsaSecurityKey key, Dictionary<string, (string, string[])> clients)
    {
        _app = app;
        _key = key;
        _clients = clients;
    }

    public string Issuer { get; private set; } = "";
    public SecurityKey SigningKey => _key;
    public string KeyId => _key.KeyId!;

    public static async Task<DevIssuer> StartAsync(IReadOnlyDictionary<string, (string Secret, string[] Scopes)> clients, TimeProvider time)
    {
        var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "dev-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        var issuer = new DevIssuer(app, key, new Dictionary<string, (string, string[])>(clients));

        app.MapGet("/.well-known/openid-configuration", () => Results.Text(
            $$"""
            {"issuer":"{{issuer.Issuer}}","jwks_uri":"{{issuer.Issuer}}/jwks","token_endpoint":"{{issuer.Issuer}}/token","grant_types_supported":["client_credentials","urn:ietf:params:oauth:grant-type:token-exchange"],"token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"id_token_signing_alg_values_supported":["RS256"]}
            """, "application/json"));
        app.MapGet("/jwks", () => Results.Text(DevTokenMinter.PublicJwks(key, SecurityAlgorithms.RsaSha256), "application/json"));
        app.MapPost("/token", (Delegate)((HttpContext context) => issuer.IssueAsync(context, time)));

        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        issuer.Issuer = address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return issuer;
    }

    /// <summary>Mints a token directly (the tour uses it for the expired-token step).</summary>
    public string Mint(string clientId, string scope, DateTimeOffset issuedAt, TimeSpan lifetime) =>
        Mint(clientId, clientId, Audience, scope, issuedAt, issuedAt + lifetime, act: null);

    private string Mint(string subject, string clientId, string audience, string scope, DateTimeOffset issuedAt, DateTimeOffset expiresAt, Dictionary<string, object>? act)
    {
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = audience,
            ["client_id"] = clientId,
            ["scope"] = scope,
            ["iat"] = issuedAt.ToUnixTimeSeconds(),
            ["nbf"] = issuedAt.ToUnixTimeSeconds(),
            ["exp"] = expiresAt.ToUnixTimeSeconds(),
            ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
        };
        if (act is not null)
        {
            claims["act"] = act;
        }

        return DevTokenMinter.Mint(_key, SecurityAlgorithms.RsaSha256, claims);
    }

    /// <summary>
    /// RFC 8693 §2.1 → §2.2: the subject token (one of this issuer's, checked with IdentityModel) for a token with
    /// <c>aud</c> <see cref="ExchangeAudience"/>, the subject's <c>sub</c>, the requested scope (within the client's),
    /// and — with an actor token (the client's own client-credentials token) — <c>act</c> naming the client, nesting
    /// the subject's own <c>act</c> (RFC 8693 §4.1). Never valid past the subject token.
    /// </summary>
    private async Task<IResult> ExchangeAsync(string clientId, string[] clientScopes, IFormCollection form, TimeProvider time)
    {
        if (form["subject_token_type"] != AccessTokenType || string.IsNullOrEmpty(form["subject_token"]))
        {
            return OAuthError("invalid_request", 400);
        }

        var subject = await ValidateOwnAsync(form["subject_token"].ToString()).ConfigureAwait(false);
        if (subject is null)
        {
            return OAuthError("invalid_grant", 400);
        }

        Dictionary<string, object>? act = null;
        if (!string.IsNullOrEmpty(form["actor_token"]))
        {
            var actor = await ValidateOwnAsync(form["actor_token"].ToString()).ConfigureAwait(false);
            if (actor is null || form["actor_token_type"] != AccessTokenType || actor.GetClaim("client_id").Value != clientId)
            {
                return OAuthError("invalid_grant", 400);
            }

            act = new Dictionary<string, object> { ["sub"] = clientId };
            if (subject.TryGetPayloadValue<Dictionary<string, object>>("act", out var prior))
            {
                act["act"] = prior;
            }
        }

        if (form["audience"] != ExchangeAudience)
        {
            return OAuthError("invalid_target", 400);
        }

        var requested = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (requested.Any(s => s != ExchangeScope || !clientScopes.Contains(s)))
        {
            return OAuthError("invalid_scope", 400);
        }

        var now = time.GetUtcNow();
        var expiresAt = new DateTimeOffset(subject.ValidTo, TimeSpan.Zero);
        if (expiresAt > now + TimeSpan.FromMinutes(5))
        {
            expiresAt = now + TimeSpan.FromMinutes(5);
        }

        var scope = string.Join(' ', requested);
        var token = Mint(subject.Subject, clientId, ExchangeAudience, scope, now, expiresAt, act);
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = token,
            ["issued_token_type"] = AccessTokenType,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)Math.Max(0, (expiresAt - now).TotalSeconds),
            ["scope"] = scope,
        }, DemoJsonContext.Default.DictionaryStringObject);
    }

    private async Task<JsonWebToken?> ValidateOwnAsync(string token)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidateAudience = false,
            IssuerSigningKey = _key,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
        }).ConfigureAwait(false);
        return result.IsValid ? result.SecurityToken as JsonWebToken : null;
    }

    private async Task<IResult> IssueAsync(HttpContext context, TimeProvider time)
    {
        if (!context.Request.HasFormContentType)
        {
            return OAuthError("invalid_request", 400);
        }
        var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
        if (form["grant_type"] != "client_credentials" && form["grant_type"] != TokenExchangeGrant)
        {
            return OAuthError("unsupported_grant_type", 400);
        }
        var (clientId, secret) = ClientCredentials(context.Request, form);
        if (clientId is null || !_clients.TryGetValue(clientId, out var client)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret ?? ""), Encoding.UTF8.GetBytes(client.Secret)))
        {
            return OAuthError("invalid_client", 401);
        }
        if (form["grant_type"] == TokenExchangeGrant)
        {
            return await ExchangeAsync(clientId, client.Scopes, form, time).ConfigureAwait(false);
        }
        var requested = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var granted = requested.Length == 0 ? client.Scopes : requested.Intersect(client.Scopes, StringComparer.Ordinal).ToArray();
        if (requested.Length > 0 && granted.Length != requested.Length)
        {
            return OAuthError("invalid_scope", 400);
        }
        var scope = string.Join(' ', granted);
        var lifetime = TimeSpan.FromMinutes(5);
        var token = Mint(clientId, scope, time.GetUtcNow(), lifetime);
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)lifetime.TotalSeconds,
            ["scope"] = scope,
        }, DemoJsonContext.Default.DictionaryStringObject);
    }

    private static (string? Id, string? Secret) ClientCredentials(HttpRequest request, IFormCollection form)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
                    return (Uri.UnescapeDataString(decoded[..colon].Replace('+', ' ')), Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' ')));
                }
            }
            catch (FormatException)
            {
                return (null, null);
            }
            return (null, null);
        }
        return (form["client_id"].ToString(), form["client_secret"].ToString());
    }

    private static IResult OAuthError(string error, int status) =>
        Results.Json(new Dictionary<string, string> { ["error"] = error }, DemoJsonContext.Default.DictionaryStringString, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _key.Rsa?.Dispose();
    }
}
