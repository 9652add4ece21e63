using Gatehouse.Configuration;
using Gatehouse.Tokens.Jwks;

namespace Gatehouse.Tests.Configuration;

/// <summary><c>issuers.NAME.kind: txn_token</c>: binding, the settings refused for it (FILE:LINE:COL), RFC 8414 metadata.</summary>
public sealed class TxnTokenIssuerConfigTests
{
    private static ConfigLoadResult Load(string issuerBody) => ConfigLoader.LoadYaml($"""
        version: 1
        issuers:
          txn:
        {issuerBody}
        listeners:
          - {"{"} name: in, mode: inbound, address: "127.0.0.1:0" {"}"}
        routes:
          - {"{"} name: r, upstream: "http://127.0.0.1:9", authentication: {"{"} issuers: [txn] {"}"} {"}"}
        """, "gh.yaml", Path.GetTempPath(), new Dictionary<string, string>());

    [Fact]
    public void Binds_kind_and_max_lifetime()
    {
        var load = Load("""
                kind: txn_token
                issuer: https://txn.shop.example
                discovery: true
                audiences: [shop.example]
                max_lifetime: 90s
            """);

        Assert.True(load.IsValid, string.Join("\n", load.Errors));
        var issuer = load.Config!.Issuers["txn"];
        Assert.Equal(IssuerKind.TxnToken, issuer.Kind);
        Assert.Equal(TimeSpan.FromSeconds(90), issuer.MaxLifetime);
        Assert.Equal(TimeSpan.FromSeconds(5), issuer.ClockSkew);
    }

    [Fact]
    public void Refuses_access_token_settings_with_positions()
    {
        var load = Load("""
                kind: txn_token
                issuer: https://txn.shop.example
                jwks_uri: https://txn.shop.example/.well-known/jwks.json
                audiences: [shop.example]
                require_type: at+jwt
                require_bound_tokens: true
            """);

        Assert.False(load.IsValid);
        var typ = Assert.Single(load.Errors, e => e.Path == "issuers.txn.require_type");
        Assert.Equal(("gh.yaml", 8), (typ.File, typ.Line));
        Assert.Contains(load.Errors, e => e.Path == "issuers.txn" && e.Message.Contains("require_bound_tokens", StringComparison.Ordinal));
    }

    [Fact]
    public void Refuses_max_lifetime_on_an_access_token_issuer_and_an_unknown_kind()
    {
        var lifetime = Load("""
                issuer: https://idp.example.com/
                jwks_uri: https://idp.example.com/jwks
                audiences: [orders]
                max_lifetime: 1m
            """);
        var kind = Load("""
                kind: txn
                issuer: https://idp.example.com/
                jwks_uri: https://idp.example.com/jwks
                audiences: [orders]
            """);

        Assert.Contains(lifetime.Errors, e => e.Path == "issuers.txn" && e.Message.Contains("max_lifetime", StringComparison.Ordinal));
        Assert.Contains(kind.Errors, e => e.Path == "issuers.txn.kind");
    }

    [Theory]
    [InlineData("https://txn.shop.example", "https://txn.shop.example/.well-known/oauth-authorization-server")]
    [InlineData("https://shop.example/txn/", "https://shop.example/.well-known/oauth-authorization-server/txn")]
    public void Discovery_of_a_txn_token_service_uses_rfc8414_metadata(string issuer, string expected)
    {
        var config = new IssuerConfig { Issuer = issuer, Kind = IssuerKind.TxnToken, Discovery = true };

        Assert.Equal(expected, JwksKeyStore.MetadataUrl(config));
        Assert.Equal("https://idp.example.com/.well-known/openid-configuration", JwksKeyStore.MetadataUrl(new IssuerConfig { Issuer = "https://idp.example.com/" }));
    }
}
