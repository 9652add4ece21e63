using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Gatehouse.Tokens.Jwt;

/// <summary>
/// Ed25519 signature verification (RFC 8032 §5.1.7, used by JWS <c>EdDSA</c>, RFC 8037 §3.1) through
/// BouncyCastle.Cryptography: the BCL has no Ed25519. BouncyCastle is managed code, so it runs wherever .NET runs
/// (Alpine/musl, distroless, Native AOT) with no native library to ship; docs/tokens.md gives the comparison with
/// NSec/libsodium.
/// </summary>
internal static class Ed25519Verifier
{
    /// <summary>RFC 8032 §5.1.5: an Ed25519 public key is 32 bytes; §5.1.6: a signature is 64.</summary>
    public const int PublicKeyBytes = 32;

    /// <summary>True when <paramref name="signature"/> is a valid Ed25519 signature of <paramref name="message"/> by <paramref name="publicKey"/>.</summary>
    public static bool Verify(byte[] publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeyBytes || signature.Length != 64)
        {
            return false;
        }

        try
        {
            var signer = new Ed25519Signer();
            signer.Init(forSigning: false, new Ed25519PublicKeyParameters(publicKey, 0));
            signer.BlockUpdate(message);
            return signer.VerifySignature(signature.ToArray());
        }
        catch (ArgumentException)
        {
            // Not a point of the curve: invalid, never an exception upward.
            return false;
        }
    }
}
