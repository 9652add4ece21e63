using System.Security.Cryptography;
using Gatehouse.Configuration;
using Gatehouse.Tokens.TxnTokens;

namespace Gatehouse.Cli.Demo;

/// <summary>
/// The demo's Txn-Token signing key (ES256, fresh per run, never committed) and its public JWKS as a file, which the
/// demo's orders sidecar reads as a <c>kind: txn_token</c> issuer.
/// </summary>
internal sealed record DemoTxnKeys(string KeyFile, string JwksFile)
{
    public const string Issuer = "https://txn.demo.local";
    public const string TrustDomain = "demo.local";
    public const string KeyId = "demo-txn-1";

    public static DemoTxnKeys Create(string directory)
    {
        Directory.CreateDirectory(directory);
        var keyFile = Path.Combine(directory, "txn-es256.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }

        // The same JWKS the gateway publishes at /.well-known/jwks.json, built by the same key ring.
        var ring = TxnSigningKeyRing.Load(new TxnTokensConfig
        {
            Issuer = Issuer,
            Audience = TrustDomain,
            SigningKeys = [new TxnSigningKeyConfig { File = keyFile, KeyId = KeyId, Algorithm = "ES256", Active = true }],
        }, out var error) ?? throw new InvalidOperationException(error);
        var jwksFile = Path.Combine(directory, "txn-jwks.json");
        File.WriteAllBytes(jwksFile, ring.JwksDocument);
        return new DemoTxnKeys(keyFile, jwksFile);
    }
}
