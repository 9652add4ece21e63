using System.Security.Cryptography;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Identity.Certificates;

/// <summary>
/// RFC 8705 §3 certificate-bound access tokens: a token whose <c>cnf</c> claim carries <c>x5t#S256</c> may only be
/// used over a TLS connection whose client certificate has that SHA-256 thumbprint.
/// </summary>
public static class CertificateBinding
{
    private const int Base64Sha256Length = 43; // 32 bytes, unpadded

    /// <summary>
    /// Compares a token's <c>cnf.x5t#S256</c> with a certificate thumbprint (both base64url SHA-256, RFC 8705 §3.1)
    /// in constant time. False when either is missing or malformed.
    /// </summary>
    public static bool Matches(string? confirmationThumbprint, string? certificateThumbprint)
    {
        if (string.IsNullOrEmpty(confirmationThumbprint) || string.IsNullOrEmpty(certificateThumbprint))
        {
            return false;
        }

        // Note: the thumbprint we compute is canonical base64url (RFC 8705 §3.1, RFC 7515 §2), so an exact comparison
        // of the two strings is both correct and strict: no decoder leniency (padding, trailing bits) can make a
        // different spelling match. Both must be 43 base64url characters (a 32-byte SHA-256); the comparison itself
        // runs in constant time so its duration says nothing about where the values differ.
        if (!IsThumbprintShaped(confirmationThumbprint) | !IsThumbprintShaped(certificateThumbprint))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(confirmationThumbprint),
            System.Text.Encoding.ASCII.GetBytes(certificateThumbprint));
    }

    /// <summary>
    /// Applies RFC 8705 §3 to one request. Returns null when the request may proceed, else
    /// <see cref="ReasonCodes.TokenBindingMismatch"/> (the token is bound but not to this connection's certificate, or
    /// there is no client certificate) or <see cref="ReasonCodes.TokenBindingRequired"/> (binding is required and
    /// the token is not bound).
    /// </summary>
    /// <param name="confirmationThumbprint">The token's <c>cnf.x5t#S256</c>, or null when it has none.</param>
    /// <param name="peer">The connection's verified client certificate, or null when there is none.</param>
    /// <param name="bindingRequired">The route or issuer requires certificate-bound tokens.</param>
    public static string? Check(string? confirmationThumbprint, PeerCertificateResult? peer, bool bindingRequired)
    {
        if (confirmationThumbprint is null)
        {
            return bindingRequired ? ReasonCodes.TokenBindingRequired : null;
        }

        return peer is { IsValid: true } && Matches(confirmationThumbprint, peer.Thumbprint) ? null : ReasonCodes.TokenBindingMismatch;
    }

    private static bool IsThumbprintShaped(string value)
    {
        if (value.Length != Base64Sha256Length)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

}
