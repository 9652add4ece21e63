using System.Buffers;
using System.Text.Json;
using Gatehouse.Model;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// The wire form of a <see cref="Decision"/> in the shared ext_authz decision cache (<c>state.backend: redis</c>):
/// one small JSON object, versioned, holding everything the ext_authz answer and the audit record are built from
/// (outcome, status, reasons, challenge, route, policy, principal with its claims, token facts — never the token —,
/// header mutations, recorded policies, validity). Decoding is strict: anything unexpected is a cache miss, never
/// a guess.
/// </summary>
/// <remarks>
/// Note: the principal's claims are stored as the issuer sent them (like the shared introspection cache does),
/// because the answer's metadata and the audit record read them; the delegation chain is parsed again from them on
/// read, exactly as the claim profiles do. The trace is not stored: ext_authz decides without one.
/// </remarks>
internal static class DecisionCodec
{
    /// <summary>Bumped whenever the shape changes: replicas of another version then see misses, never garbage.</summary>
    public const int Version = 1;

    private const int MaxDepth = 64;

    /// <summary>Encodes <paramref name="decision"/>, its validity cut to <paramref name="validUntil"/> (the entry's expiry).</summary>
    public static byte[] Encode(Decision decision, DateTimeOffset validUntil)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = MaxDepth, SkipValidation = false }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WriteString("o", decision.Allowed ? "allow" : "deny");
            writer.WriteNumber("s", decision.StatusCode);
            WriteStrings(writer, "r", decision.Reasons);
            WriteOptional(writer, "c", decision.Challenge);
            WriteOptional(writer, "rt", decision.RouteName);
            WriteOptional(writer, "np", decision.NormalizedPath);
            WriteOptional(writer, "dp", decision.DecidingPolicy);
            if (decision.Principal is { } principal)
            {
                writer.WriteStartObject("p");
                WriteOptional(writer, "w", principal.Workload);
                WriteOptional(writer, "i", principal.Issuer);
                WriteOptional(writer, "in", principal.IssuerName);
                WriteOptional(writer, "sub", principal.Subject);
                WriteOptional(writer, "cid", principal.ClientId);
                WriteStrings(writer, "sc", principal.Scopes);
                WriteStrings(writer, "ro", principal.Roles);
                if (principal.Claims.ValueKind == JsonValueKind.Object)
                {
                    writer.WritePropertyName("cl");
                    principal.Claims.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            if (decision.Token is { } token)
            {
                writer.WriteStartObject("t");
                writer.WriteString("fp", token.Fingerprint);
                WriteOptional(writer, "kid", token.Kid);
                WriteOptional(writer, "jti", token.Jti);
                WriteOptional(writer, "iss", token.Issuer);
                WriteOptional(writer, "in", token.IssuerName);
                WriteOptional(writer, "alg", token.Algorithm);
                if (token.ExpiresAt is { } exp)
                {
                    writer.WriteNumber("exp", exp.ToUnixTimeMilliseconds());
                }

                writer.WriteString("k", token.Kind);
                writer.WriteEndObject();
            }

            if (decision.Transaction is { } transaction)
            {
                writer.WriteStartObject("tx");
                writer.WriteString("id", transaction.Id);
                WriteStrings(writer, "wl", transaction.RequestingWorkloads);
                WriteOptional(writer, "rt", transaction.Route);
                writer.WriteBoolean("vf", transaction.Verified);
                writer.WriteEndObject();
            }

            WritePairs(writer, "uh", decision.UpstreamHeaders);
            WritePairs(writer, "rh", decision.ResponseHeaders);
            WriteStrings(writer, "rm", decision.RemoveHeaders);
            WriteStrings(writer, "rec", decision.Recorded);
            // Always written: a copy in another replica's front tier must not outlive the shared entry.
            writer.WriteNumber("vu", (decision.ValidUntil is { } own && own < validUntil ? own : validUntil).ToUnixTimeMilliseconds());

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The decision in <paramref name="bytes"/>, or null when they are not a decision of this version.</summary>
    public static Decision? TryDecode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = MaxDepth });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("v", out var v)
                || !v.TryGetInt32(out var version) || version != Version)
            {
                return null;
            }

            var outcome = String(root, "o") switch
            {
                "allow" => DecisionOutcome.Allow,
                "deny" => DecisionOutcome.Deny,
                _ => (DecisionOutcome?)null,
            };
            if (outcome is null || !root.TryGetProperty("s", out var s) || !s.TryGetInt32(out var status))
            {
                return null;
            }

            Principal? principal = null;
            if (root.TryGetProperty("p", out var p))
            {
                var claims = p.TryGetProperty("cl", out var cl) && cl.ValueKind == JsonValueKind.Object ? cl.Clone() : default;
                principal = new Principal
                {
                    Workload = String(p, "w"),
                    Issuer = String(p, "i"),
                    IssuerName = String(p, "in"),
                    Subject = String(p, "sub"),
                    ClientId = String(p, "cid"),
                    Scopes = new HashSet<string>(Strings(p, "sc"), StringComparer.Ordinal),
                    Roles = new HashSet<string>(Strings(p, "ro"), StringComparer.Ordinal),
                    Claims = claims,
                    Delegation = claims.ValueKind == JsonValueKind.Object ? ActorChain.Parse(claims) : ActorChain.None,
                };
            }

            TokenFacts? token = null;
            if (root.TryGetProperty("t", out var t))
            {
                token = new TokenFacts
                {
                    Fingerprint = String(t, "fp") ?? throw new JsonException("fp"),
                    Kid = String(t, "kid"),
                    Jti = String(t, "jti"),
                    Issuer = String(t, "iss"),
                    IssuerName = String(t, "in"),
                    Algorithm = String(t, "alg"),
                    ExpiresAt = Instant(t, "exp"),
                    Kind = String(t, "k") ?? "jwt",
                };
            }

            TransactionFacts? transaction = null;
            if (root.TryGetProperty("tx", out var tx))
            {
                transaction = new TransactionFacts(
                    String(tx, "id") ?? throw new JsonException("tx.id"),
                    Strings(tx, "wl"),
                    String(tx, "rt"),
                    tx.TryGetProperty("vf", out var vf) && vf.ValueKind == JsonValueKind.True);
            }

            return new Decision
            {
                Outcome = outcome.Value,
                StatusCode = status,
                Reasons = Strings(root, "r"),
                Challenge = String(root, "c"),
                RouteName = String(root, "rt"),
                NormalizedPath = String(root, "np"),
                DecidingPolicy = String(root, "dp"),
                Principal = principal,
                Token = token,
                Transaction = transaction,
                UpstreamHeaders = Pairs(root, "uh"),
                ResponseHeaders = Pairs(root, "rh"),
                RemoveHeaders = Strings(root, "rm"),
                Recorded = Strings(root, "rec"),
                ValidUntil = Instant(root, "vu"),
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            // A value this version cannot read (another version, corruption): a miss; the engine decides.
            return null;
        }
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static void WritePairs(Utf8JsonWriter writer, string name, IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        writer.WriteStartArray(name);
        foreach (var (key, value) in pairs)
        {
            writer.WriteStartArray();
            writer.WriteStringValue(key);
            writer.WriteStringValue(value);
            writer.WriteEndArray();
        }

        writer.WriteEndArray();
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static string[] Strings(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var array))
        {
            return [];
        }

        var result = new string[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            result[i++] = item.GetString() ?? throw new JsonException(name);
        }

        return result;
    }

    private static KeyValuePair<string, string>[] Pairs(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var array))
        {
            return [];
        }

        var result = new KeyValuePair<string, string>[array.GetArrayLength()];
        var i = 0;
        foreach (var pair in array.EnumerateArray())
        {
            if (pair.GetArrayLength() != 2)
            {
                throw new JsonException(name);
            }

            result[i++] = new(pair[0].GetString() ?? throw new JsonException(name), pair[1].GetString() ?? throw new JsonException(name));
        }

        return result;
    }

    private static DateTimeOffset? Instant(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? DateTimeOffset.FromUnixTimeMilliseconds(value.GetInt64()) : null;
}
