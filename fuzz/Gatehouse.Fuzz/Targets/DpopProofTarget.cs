using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Tokens.Dpop;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// The DPoP proof checks (<see cref="DpopProofValidator"/>, RFC 9449 §4.3). The first input byte picks the mode: even,
/// the rest is the raw <c>DPoP</c> header value; odd, the rest is a JOSE header and a claims set separated by a
/// newline, which the harness signs with its ES256 key, so the fuzzer explores every claim check behind a valid
/// signature. Invariants: never throws; a refusal carries a <c>dpop.*</c> reason; an accepted proof satisfies every
/// §4.3 property, each re-checked here independently of the validator: one compact JWS (step 1, 2), every required
/// claim with its type (step 3), <c>typ: dpop+jwt</c> (step 4), an asymmetric allow-listed <c>alg</c> (step 5), a
/// public <c>jwk</c> (step 6) whose key verifies the signature with the BCL (step 7), <c>htm</c> and <c>htu</c> naming
/// the request (steps 8, 9; the <c>htu</c> read by <see cref="Uri"/>), <c>iat</c> in the window (step 11), <c>ath</c>
/// the token's hash and the key the token's <c>cnf.jkt</c> names (step 12).
/// </summary>
internal sealed class DpopProofTarget : FuzzTarget
{
    /// <summary>The harness key (P-256): its public JWK members and its private scalar, base64url.</summary>
    internal const string KeyX = "BaZ0W8YSkVxt1YnMs-btzp02onosUw8Hwu3bcDSZ5_c";
    internal const string KeyY = "xBDlVcKa3xxh5Wom6duSdkhgIezQDuwX72l4BgU3YL0";
    private const string KeyD = "1_bTMMlPFG7ew1YLVLCvOsWZulRBZMj22IoR8PlLd3Y";

    /// <summary>RFC 7638 thumbprint of the harness key: the token's <c>cnf.jkt</c>.</summary>
    internal const string KeyThumbprint = "y-lTTAMiqlj7U4r7L6dubi14I2d9IfWrDKi4f2Byqh0";

    internal const string AccessToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

    /// <summary>2026-12-06T12:00:00Z, the proofs' reference time (iat 1796558400).</summary>
    internal static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private static readonly ECDsa SigningKey = ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        D = Base64Url.DecodeFromChars(KeyD),
        Q = new ECPoint { X = Base64Url.DecodeFromChars(KeyX), Y = Base64Url.DecodeFromChars(KeyY) },
    });

    private static readonly DpopSettings[] Settings =
    [
        DpopSettings.Create("edge", new DpopConfig { Algorithms = ["ES256", "PS256", "RS256"] }),
        DpopSettings.Create("edge", new DpopConfig { Algorithms = ["ES256"], MaxAge = TimeSpan.FromSeconds(10), ClockSkew = TimeSpan.Zero, Origins = ["https://public.example.com"] }),
    ];

    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    public override string Name => "dpop";

    public override string Description => "DPoP proof (RFC 9449 §4.3): never throws; accepted ⇒ every §4.3 property, re-checked independently";

    public override void Run(ReadOnlySpan<byte> input) => _ = Accepted(input);

    /// <summary>Checks one input under every settings set; returns how many of them accepted the proof.</summary>
    internal static int Accepted(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return 0;
        }

        string proof;
        if ((input[0] & 1) == 0)
        {
            proof = Encoding.UTF8.GetString(input[1..]);
        }
        else
        {
            var rest = input[1..];
            var newline = rest.IndexOf((byte)'\n');
            proof = newline < 0 ? Sign(rest, []) : Sign(rest[..newline], rest[(newline + 1)..]);
        }

        var accepted = 0;
        foreach (var settings in Settings)
        {
            accepted += CheckOne(proof, settings) ? 1 : 0;
        }

        return accepted;
    }

    /// <summary>Signs a header and claims set (any bytes) into a compact JWS with the harness key (ES256).</summary>
    internal static string Sign(ReadOnlySpan<byte> header, ReadOnlySpan<byte> claims)
    {
        var signingInput = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(claims);
        var signature = SigningKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static bool CheckOne(string proof, DpopSettings settings)
    {
        var expected = new DpopExpectations("GET", new DpopOrigin("https", "api.example.com", 443), "/orders/7",
            new PathNormalizationConfig(), AccessToken, KeyThumbprint, Now);
        var result = DpopProofValidator.Validate(proof, expected, settings);
        // The allocation-free reader and the JsonDocument path must agree on every input.
        var reference = DpopProofValidator.ValidateWithDocuments(proof, expected, settings);
        Check(result.Reason == reference.Reason && result.ReplayKey() == reference.ReplayKey(),
            $"reader and document paths disagree: '{result.Reason}' vs '{reference.Reason}'");
        if (!result.Ok)
        {
            Check(result.Reason!.StartsWith("dpop.", StringComparison.Ordinal), $"refusal without a dpop.* reason: '{result.Reason}'");
            return false;
        }

        // Steps 1, 2: one compact JWS.
        var jws = proof.Trim(' ');
        Check(jws.Length <= DpopProofValidator.MaxProofLength && !jws.Contains(',', StringComparison.Ordinal), "more than one proof, or too large");
        var parts = jws.Split('.');
        Check(parts.Length == 3 && parts.All(p => p.Length > 0), "accepted a proof that is not three non-empty segments");
        using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
        using var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        var h = header.RootElement;
        var c = claims.RootElement;
        Check(h.ValueKind == JsonValueKind.Object && c.ValueKind == JsonValueKind.Object, "header or claims not a JSON object");

        // Step 4, 5: typ and an allow-listed asymmetric alg; no crit.
        Check(string.Equals(String(h, "typ"), "dpop+jwt", StringComparison.OrdinalIgnoreCase), "typ is not dpop+jwt");
        var alg = String(h, "alg");
        Check(alg is not null && settings.Algorithms.Contains(alg) && !alg.StartsWith("HS", StringComparison.Ordinal)
            && !string.Equals(alg, "none", StringComparison.OrdinalIgnoreCase), $"alg '{alg}' is not an allowed asymmetric algorithm");
        Check(!h.TryGetProperty("crit", out _), "crit accepted");

        // Step 3: every required claim, with its type.
        var jti = String(c, "jti");
        Check(jti is { Length: > 0 and <= DpopProofValidator.MaxJtiLength }, "jti missing or too long");
        // The replay key is SHA-256(jkt ‖ LF ‖ jti) of this proof's own jti (RFC 9449 §11.1): recomputed from the
        // document read here, so a fast-path reader that keyed on another jti than the one signed would be caught.
        var expectedReplay = ReplayHash.Of(result.Thumbprint!, System.Text.Encoding.UTF8.GetBytes(jti!));
        Check(result.ReplayKey() == "dpop:" + Base64Url.EncodeToString(expectedReplay), "replay key is not keyed by this proof's jti");
        Check(c.TryGetProperty("iat", out var iat) && iat.ValueKind == JsonValueKind.Number, "iat missing or not a number");
        Check(!c.TryGetProperty("nonce", out var nonce) || (nonce.ValueKind == JsonValueKind.String && nonce.GetString() == result.Nonce), "nonce not a string or not the one reported");

        // Step 8: the method, case-sensitive.
        Check(String(c, "htm") == "GET", "htm is not the request's method");

        // Step 9: the htu names this origin (or a configured one) and this path, read by the BCL's URI parser.
        var htu = String(c, "htu");
        Uri? uri = null;
        Check(htu is not null && Uri.TryCreate(htu, UriKind.Absolute, out uri), $"htu '{htu}' is not an absolute URI");
        // Note: a fully qualified name's trailing dot names the same host (Gatehouse treats request hosts alike).
        var host = uri!.IdnHost.TrimEnd('.');
        Check(uri.Scheme == Uri.UriSchemeHttps && uri.UserInfo.Length == 0 && uri.Port == 443
            && (string.Equals(host, "api.example.com", StringComparison.OrdinalIgnoreCase)
                || (settings.Origins.Count > 0 && string.Equals(host, "public.example.com", StringComparison.OrdinalIgnoreCase))),
            $"htu '{htu}' names another origin");
        var path = Routing.PathNormalizer.Normalize(uri.AbsolutePath, new PathNormalizationConfig());
        Check(path.Ok && path.Path == "/orders/7", $"htu '{htu}' names another path ('{uri.AbsolutePath}')");

        // Step 11: iat within [now - max_age - skew, now + skew].
        var issued = iat.GetDouble();
        var now = Now.ToUnixTimeSeconds();
        Check(issued <= now + settings.Config.ClockSkew.TotalSeconds && issued >= now - settings.Config.MaxAge.TotalSeconds - settings.Config.ClockSkew.TotalSeconds,
            $"iat {issued} outside the window");

        // Step 12: ath is the token's hash; the proof key is the token's cnf.jkt.
        Check(String(c, "ath") == DpopProofValidator.AccessTokenHash(AccessToken), "ath is not the hash of the access token");
        Check(result.Thumbprint == KeyThumbprint, "proof key is not the token's cnf.jkt");

        // Steps 6, 7: a public jwk whose key verifies the signature (the BCL's verifier, not the validator's).
        Check(h.TryGetProperty("jwk", out var jwk) && jwk.ValueKind == JsonValueKind.Object, "jwk missing");
        Check(!PrivateMembers.Any(m => jwk.TryGetProperty(m, out _)), "jwk with private key members accepted");
        Check(Verifies(alg!, jwk, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url.DecodeFromChars(parts[2])), "the signature does not verify with the jwk");
        return true;
    }

    private static bool Verifies(string alg, JsonElement jwk, byte[] data, byte[] signature)
    {
        var hash = alg[2..] switch
        {
            "256" => HashAlgorithmName.SHA256,
            "384" => HashAlgorithmName.SHA384,
            "512" => HashAlgorithmName.SHA512,
            _ => throw new InvariantViolation($"alg '{alg}' has no hash the harness knows"),
        };
        if (alg[0] == 'E')
        {
            using var ec = ECDsa.Create(new ECParameters
            {
                Curve = String(jwk, "crv") switch
                {
                    "P-256" => ECCurve.NamedCurves.nistP256,
                    "P-384" => ECCurve.NamedCurves.nistP384,
                    "P-521" => ECCurve.NamedCurves.nistP521,
                    var crv => throw new InvariantViolation($"accepted an EC key on curve '{crv}'"),
                },
                Q = new ECPoint { X = Base64Url.DecodeFromChars(String(jwk, "x")), Y = Base64Url.DecodeFromChars(String(jwk, "y")) },
            });
            return ec.VerifyData(data, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }

        using var rsa = RSA.Create(new RSAParameters { Modulus = Base64Url.DecodeFromChars(String(jwk, "n")), Exponent = Base64Url.DecodeFromChars(String(jwk, "e")) });
        return rsa.VerifyData(data, signature, hash, alg[0] == 'P' ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
