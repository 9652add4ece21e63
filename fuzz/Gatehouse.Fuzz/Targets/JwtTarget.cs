using System.Text;
using Gatehouse.Tokens.Jwt;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// The strict JWS pre-parse (<see cref="JwtParser"/>). Invariants: never throws; the single-pass readers and the
/// two-pass reference parse agree on accept/reject, reason, detail and every field read; <c>alg: none</c> is never
/// accepted (RFC 8725 §3.2); and (differential) whatever Gatehouse accepts, Microsoft.IdentityModel's
/// <see cref="JsonWebToken"/> reads too — Gatehouse may be stricter, never looser.
/// </summary>
internal sealed class JwtTarget : FuzzTarget
{
    public override string Name => "jwt";

    public override string Description => "JWS compact parse: single-pass = two-pass reference; no alg none; accepted ⊆ IdentityModel-readable";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var token = Encoding.UTF8.GetString(input);
        if (JwtParser.CountDots(token, out var first, out var second) != 2)
        {
            return;
        }

        var fast = JwtParser.Parse(token, first, second, singlePass: true);
        var reference = JwtParser.Parse(token, first, second, singlePass: false);
        Check(fast.Ok == reference.Ok, $"single-pass ok={fast.Ok} but reference ok={reference.Ok} ({reference.Reason})");
        Check(fast.Reason == reference.Reason, $"reason '{fast.Reason}' vs reference '{reference.Reason}'");
        Check(fast.Detail == reference.Detail, $"detail '{fast.Detail}' vs reference '{reference.Detail}'");
        Check(fast.Alg == reference.Alg && fast.Kid == reference.Kid && fast.Typ == reference.Typ, "header fields differ");
        Check(fast.Iss == reference.Iss && fast.Jti == reference.Jti && fast.ClientId == reference.ClientId, "iss/jti/client_id differ");
        Check(Same(fast.Exp, reference.Exp) && Same(fast.Nbf, reference.Nbf) && Same(fast.Iat, reference.Iat), "exp/nbf/iat differ");
        Check(fast.Aud.Single == reference.Aud.Single && SameList(fast.Aud.Values, reference.Aud.Values), "aud differs");
        Check(fast.CnfX5tS256 == reference.CnfX5tS256, "cnf x5t#S256 differs");
        if (!fast.Ok)
        {
            return;
        }

        Check(fast.Alg is not null && !string.Equals(fast.Alg, "none", StringComparison.OrdinalIgnoreCase), "alg none accepted by the parser");
        Check(fast.Signature is { Length: > 0 }, "accepted a token without a signature");
        try
        {
            _ = new JsonWebToken(token);
        }
        catch (ArgumentException ex)
        {
            throw new InvariantViolation($"Gatehouse accepted a token IdentityModel cannot read: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static bool Same(double? a, double? b) => a.HasValue == b.HasValue && (!a.HasValue || a.Value.Equals(b!.Value));

    private static bool SameList(string[]? a, string[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);
}
