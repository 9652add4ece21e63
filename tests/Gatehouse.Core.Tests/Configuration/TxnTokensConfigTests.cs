using System.Security.Cryptography;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary><c>txn_tokens</c> and the <c>txn_token_service</c> listener: every mistake is a FILE:LINE:COL error at the key.</summary>
public sealed class TxnTokensConfigTests : IDisposable
{
    private static readonly Dictionary<string, string> s_noEnvironment = [];
    private readonly ConfigTestFiles _files = new();

    public TxnTokensConfigTests()
    {
        using var rsa = RSA.Create(2048);
        File.WriteAllText(_files.Path("rsa.pem"), rsa.ExportPkcs8PrivateKeyPem());
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(_files.Path("public.pem"), ec.ExportSubjectPublicKeyInfoPem());
    }

    public void Dispose() => _files.Dispose();

    private ConfigLoadResult Load(string txn, string listeners = "  - { name: edge, mode: gateway, address: 127.0.0.1:8080 }") =>
        ConfigLoader.LoadYaml($$"""
            version: 1
            issuers:
              corp: { issuer: https://idp.example.com/, jwks_file: jwks.json, audiences: [orders] }
            listeners:
            {{listeners}}
            routes:
              - { name: orders, upstream: http://127.0.0.1:5001 }
            {{txn}}
            """, "gatehouse.yaml", _files.Directory, s_noEnvironment);

    [Fact]
    public void OneKey_AndRotationSet_Bind()
    {
        var single = Load("txn_tokens: { issuer: https://txn.example, audience: shop.example, signing_key: { file: txn-1.pem, key_id: txn-1 } }");
        var rotation = Load("""
            txn_tokens:
              issuer: https://txn.example
              audience: shop.example
              signing_keys:
                - { file: txn-2.pem, key_id: txn-2, active: true }
                - { file: txn-1.pem, key_id: txn-1 }
            """);

        Assert.True(single.IsValid, string.Join("\n", single.Errors));
        Assert.Equal("txn-1", single.Config!.TxnTokens!.ActiveKey.KeyId);
        Assert.Equal("ES256", single.Config.TxnTokens.ActiveKey.Algorithm);
        Assert.True(rotation.IsValid, string.Join("\n", rotation.Errors));
        Assert.Equal("txn-2", rotation.Config!.TxnTokens!.ActiveKey.KeyId);
        Assert.Contains(_files.Path("txn-1.pem"), rotation.ReferencedFiles);
    }

    [Theory]
    // A key that does not fit its algorithm, a public key, a key that is missing.
    [InlineData("txn_tokens: { issuer: i, audience: a, signing_key: { file: rsa.pem, key_id: k } }", "gatehouse.yaml:8:60: txn_tokens.signing_key.file: no EC private key (PEM) in the file, which ES256 needs")]
    [InlineData("txn_tokens: { issuer: i, audience: a, signing_key: { file: public.pem, key_id: k } }", "gatehouse.yaml:8:60: txn_tokens.signing_key.file: no EC private key (PEM) in the file, which ES256 needs")]
    [InlineData("txn_tokens: { issuer: i, audience: a, signing_key: { file: txn-1.pem, key_id: k, algorithm: RS256 } }", "gatehouse.yaml:8:60: txn_tokens.signing_key.file: no RSA private key (PEM) in the file, which RS256 needs")]
    [InlineData("txn_tokens: { issuer: i, audience: a, signing_key: { file: txn-1.pem, key_id: k, algorithm: HS256 } }", "gatehouse.yaml:8:93: txn_tokens.signing_key.algorithm: unknown Txn-Token signing algorithm 'HS256'")]
    [InlineData("txn_tokens: { issuer: i, audience: a }", "gatehouse.yaml:8:13: txn_tokens.signing_key: required field 'signing_key' is missing")]
    [InlineData("txn_tokens: { issuer: i, audience: a, lifetime: 1h, signing_key: { file: txn-1.pem, key_id: k } }", "gatehouse.yaml:8:49: txn_tokens.lifetime: must be between 1s and 10m, got 1h")]
    [InlineData("txn_tokens: { issuer: i, audience: a, header: authorization, signing_key: { file: txn-1.pem, key_id: k } }", "gatehouse.yaml:8:47: txn_tokens.header: 'authorization' is not a usable header name")]
    [InlineData("txn_tokens: { issuer: i, audience: a, allowed_callers: [orders], signing_key: { file: txn-1.pem, key_id: k } }", "gatehouse.yaml:8:57: txn_tokens.allowed_callers[0]: 'orders' is not a SPIFFE ID")]
    [InlineData("txn_tokens: { issuer: i, audience: a, subject_issuers: [nope], signing_key: { file: txn-1.pem, key_id: k } }", "gatehouse.yaml:8:57: txn_tokens.subject_issuers[0]: unknown issuer 'nope'")]
    [InlineData("txn_tokens: { audience: a, signing_key: { file: txn-1.pem, key_id: k } }", "gatehouse.yaml:8:13: txn_tokens.issuer: required field 'issuer' is missing")]
    public void Mistakes_AreReportedAtTheirPosition(string txn, string expected)
    {
        var result = Load(txn);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void RotationSet_NeedsExactlyOneActiveKey_AndUniqueKeyIds()
    {
        var none = Load("""
            txn_tokens:
              issuer: i
              audience: a
              signing_keys:
                - { file: txn-1.pem, key_id: k1 }
                - { file: txn-2.pem, key_id: k2 }
            """);
        var two = Load("""
            txn_tokens:
              issuer: i
              audience: a
              signing_keys:
                - { file: txn-1.pem, key_id: k1, active: true }
                - { file: txn-2.pem, key_id: k1, active: true }
            """);
        var both = Load("""
            txn_tokens:
              issuer: i
              audience: a
              signing_key: { file: txn-1.pem, key_id: k1 }
              signing_keys: [{ file: txn-2.pem, key_id: k2 }]
            """);

        Assert.Contains(none.Errors, e => e.ToString().StartsWith("gatehouse.yaml:12:5: txn_tokens.signing_keys: mark the key that signs", StringComparison.Ordinal));
        Assert.Contains(two.Errors, e => e.ToString().StartsWith("gatehouse.yaml:13:7: txn_tokens.signing_keys[1].active: only one key signs", StringComparison.Ordinal));
        Assert.Contains(two.Errors, e => e.ToString().StartsWith("gatehouse.yaml:13:7: txn_tokens.signing_keys[1].key_id: duplicate key_id 'k1'", StringComparison.Ordinal));
        Assert.Contains(both.Errors, e => e.ToString().StartsWith("gatehouse.yaml:12:17: txn_tokens.signing_keys: set signing_key (one key) or signing_keys (rotation), not both", StringComparison.Ordinal));
    }

    [Fact]
    public void EnvironmentOverride_ReachesTheSection()
    {
        var result = ConfigLoader.LoadYaml("""
            version: 1
            txn_tokens: { issuer: i, audience: a, signing_key: { file: txn-1.pem, key_id: k } }
            """, "gatehouse.yaml", _files.Directory, new Dictionary<string, string> { ["GATEHOUSE_TXN_TOKENS__LIFETIME"] = "30s" });

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(TimeSpan.FromSeconds(30), result.Config!.TxnTokens!.Lifetime);
    }

    [Fact]
    public void ServiceListener_NeedsTheSectionAndMtls()
    {
        var result = Load("", "  - { name: tts, mode: txn_token_service, address: 127.0.0.1:8443 }");

        Assert.Contains(result.Errors, e => e.ToString().StartsWith("gatehouse.yaml:5:24: txn_tokens: listener 'tts' (mode txn_token_service) needs a txn_tokens section", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.ToString().StartsWith("gatehouse.yaml:5:24: listeners[0].tls: a txn_token_service listener authenticates its callers with mTLS", StringComparison.Ordinal));
    }
}
