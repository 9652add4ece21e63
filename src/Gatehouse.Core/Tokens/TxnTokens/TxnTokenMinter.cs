using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Gatehouse.Tokens.TxnTokens;

/// <summary>What a gateway knows about the request it mints for: written as <c>rctx</c> and <c>tctx</c> (docs/txn-tokens.md).</summary>
public readonly record struct GatewayTransactionContext(
    string? RequestIp,
    string Authentication,
    string? ClientId,
    string Transport,
    string Method,
    string Path,
    string Route);

/// <summary>The content of one Txn-Token (draft-ietf-oauth-transaction-tokens-10, "JWT Body Claims").</summary>
public readonly record struct TxnTokenContent
{
    /// <summary><c>sub</c>: the principal of the transaction.</summary>
    public required string Subject { get; init; }
    /// <summary><c>scope</c>: space-separated, as narrow as the transaction needs.</summary>
    public required string Scope { get; init; }
    /// <summary><c>txn</c>: the transaction id.</summary>
    public required string Transaction { get; init; }
    /// <summary><c>req_wl</c>: the requesting workload(s).</summary>
    public required string RequestingWorkload { get; init; }
    /// <summary><c>exp</c>; the minter caps it at issuance + lifetime.</summary>
    public DateTimeOffset? NotAfter { get; init; }
    /// <summary><c>rctx</c> as a JSON object (service requests), or null.</summary>
    public JsonElement? RequestContext { get; init; }
    /// <summary><c>tctx</c> as a JSON object (service requests), or null.</summary>
    public JsonElement? TransactionContext { get; init; }
    /// <summary>The gateway's context; when set it is written as <c>rctx</c> and <c>tctx</c>.</summary>
    public GatewayTransactionContext? Gateway { get; init; }
}

/// <summary>A signed Txn-Token and the facts the audit may keep about it (never the token itself in logs or audit).</summary>
public readonly record struct MintedTxnToken(string Token, string TokenId, string KeyId, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Signs Txn-Tokens with the ring's active key through Microsoft.IdentityModel's <see cref="JsonWebTokenHandler"/>
/// (no hand-rolled JOSE): header <c>typ: txntoken+jwt</c> and <c>kid</c> ("JWT Header"), body <c>iss</c>, <c>aud</c>,
/// <c>iat</c>, <c>exp</c>, <c>jti</c>, <c>txn</c>, <c>sub</c>, <c>scope</c>, <c>req_wl</c>, <c>rctx</c>, <c>tctx</c>.
/// One signature per call; the payload is written with a per-thread reusable buffer.
/// </summary>
public sealed class TxnTokenMinter
{
    private static readonly JsonWebTokenHandler s_handler = new() { SetDefaultTimesOnTokenCreation = false };
    private static readonly Dictionary<string, object> s_header = new(StringComparer.Ordinal) { ["typ"] = TxnTokenProtocol.JwtType };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly string _issuer;
    private readonly string _audience;
    private readonly TimeSpan _lifetime;

    /// <summary>Creates a minter for one config snapshot.</summary>
    public TxnTokenMinter(TxnTokensConfig config, TxnSigningKeyRing ring)
    {
        ArgumentNullException.ThrowIfNull(config);
        _issuer = config.Issuer;
        _audience = config.Audience;
        _lifetime = config.Lifetime;
        Ring = ring;
    }

    /// <summary>The keys this minter signs with (the active one) and publishes.</summary>
    public TxnSigningKeyRing Ring { get; }

    /// <summary>Signs a Txn-Token issued at <paramref name="now"/>.</summary>
    public MintedTxnToken Mint(in TxnTokenContent content, DateTimeOffset now)
    {
        var issuedAt = now.ToUnixTimeSeconds();
        var expires = issuedAt + (long)_lifetime.TotalSeconds;
        if (content.NotAfter is { } notAfter && notAfter.ToUnixTimeSeconds() < expires)
        {
            // A replacement never outlives the token it replaces (draft -10, "Txn-Token as a subject_token").
            expires = notAfter.ToUnixTimeSeconds();
        }

        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        var jti = Convert.ToHexStringLower(random);

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer;
        if (writer is null)
        {
            writer = t_writer = new Utf8JsonWriter(buffer);
        }
        else
        {
            writer.Reset(buffer);
        }

        writer.WriteStartObject();
        writer.WriteString(TxnTokenProtocol.Claims.Issuer, _issuer);
        writer.WriteString(TxnTokenProtocol.Claims.Audience, _audience);
        writer.WriteNumber(TxnTokenProtocol.Claims.IssuedAt, issuedAt);
        writer.WriteNumber(TxnTokenProtocol.Claims.ExpiresAt, expires);
        writer.WriteString(TxnTokenProtocol.Claims.TokenId, jti);
        writer.WriteString(TxnTokenProtocol.Claims.Transaction, content.Transaction);
        writer.WriteString(TxnTokenProtocol.Claims.Subject, content.Subject);
        writer.WriteString(TxnTokenProtocol.Claims.Scope, content.Scope);
        writer.WriteString(TxnTokenProtocol.Claims.RequestingWorkload, content.RequestingWorkload);
        if (content.Gateway is { } gateway)
        {
            writer.WriteStartObject(TxnTokenProtocol.Claims.RequestContext);
            if (gateway.RequestIp is not null)
            {
                writer.WriteString(TxnTokenProtocol.ContextMembers.RequestIp, gateway.RequestIp);
            }

            writer.WriteString(TxnTokenProtocol.ContextMembers.Authentication, gateway.Authentication);
            if (gateway.ClientId is not null)
            {
                writer.WriteString(TxnTokenProtocol.ContextMembers.ClientId, gateway.ClientId);
            }

            writer.WriteString(TxnTokenProtocol.ContextMembers.Transport, gateway.Transport);
            writer.WriteEndObject();
            writer.WriteStartObject(TxnTokenProtocol.Claims.TransactionContext);
            writer.WriteString(TxnTokenProtocol.ContextMembers.Method, gateway.Method);
            writer.WriteString(TxnTokenProtocol.ContextMembers.Path, gateway.Path);
            writer.WriteString(TxnTokenProtocol.ContextMembers.Route, gateway.Route);
            writer.WriteEndObject();
        }
        else
        {
            if (content.RequestContext is { } rctx)
            {
                writer.WritePropertyName(TxnTokenProtocol.Claims.RequestContext);
                rctx.WriteTo(writer);
            }

            if (content.TransactionContext is { } tctx)
            {
                writer.WritePropertyName(TxnTokenProtocol.Claims.TransactionContext);
                tctx.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
        writer.Flush();
        var payload = Encoding.UTF8.GetString(buffer.WrittenSpan);
        var token = s_handler.CreateToken(payload, Ring.SigningCredentials, s_header);
        return new MintedTxnToken(token, jti, Ring.ActiveKey.KeyId, DateTimeOffset.FromUnixTimeSeconds(issuedAt), DateTimeOffset.FromUnixTimeSeconds(expires));
    }
}
