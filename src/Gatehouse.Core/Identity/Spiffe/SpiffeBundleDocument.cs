using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Gatehouse.Identity.Spiffe;

/// <summary>
/// A SPIFFE bundle (SPIFFE Trust Domain and Bundle spec §4): an RFC 7517 JWK Set whose <c>use: x509-svid</c> keys
/// carry the trust domain's X.509 authorities (X509-SVID spec §6: exactly one certificate in <c>x5c</c>), with the
/// optional <c>spiffe_sequence</c> and <c>spiffe_refresh_hint</c>.
/// </summary>
/// <param name="Authorities">The X.509 authorities (roots) of the trust domain.</param>
/// <param name="Sequence"><c>spiffe_sequence</c> (§4.1.1), or null.</param>
/// <param name="RefreshHint"><c>spiffe_refresh_hint</c> (§4.1.2), or null.</param>
public sealed record SpiffeBundleDocument(X509Certificate2Collection Authorities, long? Sequence, TimeSpan? RefreshHint)
{
    /// <summary>Most keys read from one document (a bound on hostile input).</summary>
    public const int MaxKeys = 256;

    /// <summary>
    /// Parses a bundle. Keys whose <c>use</c> is not <c>x509-svid</c> (e.g. <c>jwt-svid</c>) or whose <c>kty</c> is
    /// unknown are ignored, as §4.1.3 and §4.2.2 require; an <c>x509-svid</c> key with a bad <c>x5c</c> is an error (a
    /// publisher bug that must not silently drop an authority). A bundle with no X.509 authority is an error too:
    /// installing it would refuse every peer of the trust domain, so the last good bundle is kept instead.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out SpiffeBundleDocument? bundle, [NotNullWhen(false)] out string? error)
    {
        bundle = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            error = "not JSON: " + e.Message;
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "not a JSON object";
                return false;
            }

            long? sequence = null;
            if (root.TryGetProperty("spiffe_sequence", out var seq))
            {
                if (seq.ValueKind != JsonValueKind.Number || !seq.TryGetInt64(out var s) || s < 0)
                {
                    error = "spiffe_sequence is not a non-negative integer";
                    return false;
                }

                sequence = s;
            }

            TimeSpan? hint = null;
            if (root.TryGetProperty("spiffe_refresh_hint", out var refresh))
            {
                if (refresh.ValueKind != JsonValueKind.Number || !refresh.TryGetInt64(out var seconds) || seconds < 0 || seconds > 10L * 365 * 24 * 3600)
                {
                    error = "spiffe_refresh_hint is not a number of seconds";
                    return false;
                }

                hint = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
            }

            // §4.1.3: "The parameter keys MUST be present."
            if (!root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
            {
                error = "no keys array";
                return false;
            }

            if (keys.GetArrayLength() > MaxKeys)
            {
                error = $"more than {MaxKeys} keys";
                return false;
            }

            var authorities = new X509Certificate2Collection();
            var index = 0;
            foreach (var key in keys.EnumerateArray())
            {
                var at = $"keys[{index++}]";
                if (key.ValueKind != JsonValueKind.Object
                    || !key.TryGetProperty("use", out var use) || use.ValueKind != JsonValueKind.String || !use.ValueEquals("x509-svid")
                    || !key.TryGetProperty("kty", out var kty) || kty.ValueKind != JsonValueKind.String || !(kty.ValueEquals("RSA") || kty.ValueEquals("EC")))
                {
                    continue; // §4.2.1 / §4.2.2: unknown kty or use → ignore the whole JWK
                }

                if (!key.TryGetProperty("x5c", out var x5c) || x5c.ValueKind != JsonValueKind.Array || x5c.GetArrayLength() != 1
                    || x5c[0].ValueKind != JsonValueKind.String)
                {
                    error = $"{at}: an x509-svid key needs exactly one certificate in x5c (X509-SVID spec §6)";
                    return false;
                }

                try
                {
                    // RFC 7517 §4.7: x5c holds base64 (not base64url) DER.
                    var der = Convert.FromBase64String(x5c[0].GetString()!);
                    authorities.Add(X509CertificateLoader.LoadCertificate(der));
                }
                catch (Exception e) when (e is FormatException or CryptographicException)
                {
                    error = $"{at}: x5c is not a base64 DER certificate ({e.GetType().Name})";
                    return false;
                }
            }

            if (authorities.Count == 0)
            {
                error = "no x509-svid authority in the bundle";
                return false;
            }

            bundle = new SpiffeBundleDocument(authorities, sequence, hint);
            error = null;
            return true;
        }
    }

    /// <summary>Writes a bundle document for <paramref name="authorities"/> (development CA, tests, docs examples).</summary>
    public static string Create(IEnumerable<X509Certificate2> authorities, long? sequence = null, TimeSpan? refreshHint = null)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            if (sequence is { } s)
            {
                writer.WriteNumber("spiffe_sequence", s);
            }

            if (refreshHint is { } hint)
            {
                writer.WriteNumber("spiffe_refresh_hint", (long)hint.TotalSeconds);
            }

            writer.WriteStartArray("keys");
            foreach (var certificate in authorities)
            {
                writer.WriteStartObject();
                writer.WriteString("use", "x509-svid");
                using (var ec = certificate.GetECDsaPublicKey())
                using (var rsa = certificate.GetRSAPublicKey())
                {
                    if (ec is not null)
                    {
                        var p = ec.ExportParameters(false);
                        writer.WriteString("kty", "EC");
                        writer.WriteString("crv", p.Curve.Oid.FriendlyName switch { "nistP384" or "ECDSA_P384" => "P-384", "nistP521" or "ECDSA_P521" => "P-521", _ => "P-256" });
                        writer.WriteString("x", Base64Url(p.Q.X!));
                        writer.WriteString("y", Base64Url(p.Q.Y!));
                    }
                    else if (rsa is not null)
                    {
                        var p = rsa.ExportParameters(false);
                        writer.WriteString("kty", "RSA");
                        writer.WriteString("n", Base64Url(p.Modulus!));
                        writer.WriteString("e", Base64Url(p.Exponent!));
                    }
                }

                writer.WriteStartArray("x5c");
                writer.WriteStringValue(Convert.ToBase64String(certificate.RawData));
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
