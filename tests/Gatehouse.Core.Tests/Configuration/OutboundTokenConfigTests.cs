using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

/// <summary><c>routes[].outbound.token</c>: binding, <c>check</c> errors at FILE:LINE:COL, the effective config.</summary>
public sealed class OutboundTokenConfigTests : IDisposable
{
    private readonly string _dir = Gatehouse.Testing.TestTemp.CreateDirectory("outbound-config-");

    public OutboundTokenConfigTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "secret"), "s3cret\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Line 14 is the first line of the token mapping's body.
    private static string Config(string token, string authentication = "{ require_token: false }") => $$"""
        version: 1
        issuers:
          west: { issuer: "http://127.0.0.1:9999", discovery: true, audiences: [orders] }
          files: { issuer: "https://files.example", jwks_uri: "https://files.example/jwks", audiences: [orders] }
        listeners:
          - { name: out, mode: outbound, address: "127.0.0.1:0" }
        routes:
          - name: to-payments
            match: { hosts: [payments.west.example] }
            upstream: http://127.0.0.1:9
            authentication: {{authentication}}
            outbound:
              token:
        {{string.Join('\n', token.Split('\n').Select(l => "          " + l))}}
        """;

    private ConfigLoadResult Load(string yaml) => ConfigLoader.LoadYaml(yaml, "gatehouse.yaml", _dir, new Dictionary<string, string>());

    [Fact]
    public void ExchangeRoute_Binds_AndShowsInTheEffectiveConfigWithoutSecrets()
    {
        var result = Load(Config("""
            mode: exchange
            issuer: west
            client_id: checkout
            client_auth: client_secret_post
            client_secret_file: secret
            scopes: [payments.charge]
            audience: payments
            resource: https://payments.west.example/
            actor: client_credentials
            refresh_before: 45s
            """));

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var token = result.Config!.Routes[0].Outbound!.Token!;
        Assert.Equal(OutboundTokenMode.Exchange, token.Mode);
        Assert.Equal(OutboundClientAuth.ClientSecretPost, token.ClientAuth);
        Assert.Equal(OutboundActor.ClientCredentials, token.Actor);
        Assert.Equal(TimeSpan.FromSeconds(45), token.RefreshBefore);
        Assert.Equal(["payments.charge"], token.Scopes);
        Assert.Equal(Path.Combine(_dir, "secret"), token.ClientSecretFile);
        using var buffer = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            EffectiveConfigWriter.WriteJson(result.Config, writer);
        }

        var effective = System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        Assert.Contains("\"mode\":\"exchange\"", effective.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", effective, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string, int, int, string> Errors() => new()
    {
        { "client_secret_file missing", "mode: client_credentials\ntoken_endpoint: http://127.0.0.1:9/token\nclient_id: checkout", "routes[0].outbound.token.client_secret_file", 14, 11, "required field 'client_secret_file' is missing" },
        { "actor without exchange", "mode: client_credentials\ntoken_endpoint: http://127.0.0.1:9/token\nclient_id: checkout\nclient_secret_file: secret\nactor: client_credentials", "routes[0].outbound.token", 18, 18, "actor: client_credentials is only used with mode: exchange" },
        { "unknown issuer", "mode: exchange\nissuer: east\nclient_id: checkout\nclient_secret_file: secret", "routes[0].outbound.token.issuer", 15, 19, "unknown issuer 'east'" },
        { "issuer without discovery", "mode: exchange\nissuer: files\nclient_id: checkout\nclient_secret_file: secret", "routes[0].outbound.token.issuer", 15, 19, "does not use discovery" },
        { "no endpoint", "mode: exchange\nclient_id: checkout\nclient_secret_file: secret", "routes[0].outbound.token.token_endpoint", 14, 11, "required field 'token_endpoint' is missing" },
        { "client_id missing", "mode: exchange\ntoken_endpoint: http://127.0.0.1:9/token\nclient_secret_file: secret", "routes[0].outbound.token.client_id", 14, 11, "required field 'client_id' is missing" },
        { "unknown mode", "mode: passthrough", "routes[0].outbound.token.mode", 14, 17, "unknown token mode 'passthrough'" },
        { "key file missing for private_key_jwt", "mode: client_credentials\ntoken_endpoint: http://127.0.0.1:9/token\nclient_id: checkout\nclient_auth: private_key_jwt", "routes[0].outbound.token.client_key_file", 14, 11, "required field 'client_key_file' is missing" },
        { "tls_client_auth without a client certificate", "mode: client_credentials\ntoken_endpoint: http://127.0.0.1:9/token\nclient_id: checkout\nclient_auth: tls_client_auth", "routes[0].outbound.token", 14, 11, "tls_client_auth (RFC 8705 §2) authenticates with the route's outbound.client_certificate" },
        { "audience with mode forward", "mode: forward\naudience: payments", "routes[0].outbound.token.audience", 15, 21, "audience is only used with mode: client_credentials or exchange" },
        { "plain http token endpoint off loopback", "mode: client_credentials\ntoken_endpoint: http://idp.example.com/token\nclient_id: checkout\nclient_secret_file: secret", "routes[0].outbound.token.token_endpoint", 15, 27, "https" },
        { "secret file not found", "mode: client_credentials\ntoken_endpoint: http://127.0.0.1:9/token\nclient_id: checkout\nclient_secret_file: nope", "routes[0].outbound.token.client_secret_file", 17, 31, "file not found" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Check_ReportsTheMistake_AtItsPlace(string name, string token, string path, int line, int column, string message)
    {
        var result = Load(Config(token));

        Assert.False(result.IsValid, name);
        var error = Assert.Single(result.Errors, e => e.Path == path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.StartsWith($"gatehouse.yaml:{line}:{column}: {path}: ", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("west", "is not kind: txn_token")]
    [InlineData("east", "unknown issuer 'east'")]
    public void TxnTokenReplacement_NamesAConfiguredTxnTokenIssuer(string issuer, string message)
    {
        var yaml = Config("mode: none").Replace(
            "      token:\n          mode: none",
            $"      txn_token:\n          replace: true\n          scopes: [payments.charge]\n          issuer: {issuer}",
            StringComparison.Ordinal);

        var result = Load(yaml);

        // (The route also lacks the client certificate replacement needs; that error has a path of its own.)
        var error = Assert.Single(result.Errors, e => e.Path == "routes[0].outbound.txn_token.issuer");
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal((16, 19), (error.Line, error.Column));
    }

    [Fact]
    public void ForwardAuthorization_ConflictsWithAnotherMode()
    {
        var result = Load(Config("mode: none", "{ require_token: false, forward_authorization: true }"));

        var error = Assert.Single(result.Errors);
        Assert.Equal("routes[0].authentication", error.Path);
        Assert.Contains("use outbound.token.mode: forward", error.Message, StringComparison.Ordinal);
    }
}
