using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Tests.Tokens;

/// <summary>
/// A <c>kind: txn_token</c> issuer with <c>discovery: true</c> reads the Txn-Token Service's RFC 8414 metadata
/// (<c>/.well-known/oauth-authorization-server</c>, never the OpenID document) and its <c>jwks_uri</c>, like any issuer.
/// </summary>
public sealed class TxnTokenDiscoveryTests
{
    [Fact]
    public async Task Keys_come_from_rfc8414_metadata_and_verify_a_txn_token()
    {
        var key = TestKey.Ec("txn-1");
        LoopbackServer? server = null;
        server = new LoopbackServer(request => request.Path switch
        {
            "/.well-known/oauth-authorization-server" => LoopbackResponse.Json(
                $$"""{"issuer":"{{server!.BaseUri.ToString().TrimEnd('/')}}","token_endpoint":"{{server.Url("/token")}}","jwks_uri":"{{server.Url("/.well-known/jwks.json")}}"}"""),
            "/.well-known/jwks.json" => LoopbackResponse.Json(TestKey.Jwks(key)),
            _ => LoopbackResponse.Json("{}", 404),
        });
        await using (server)
        {
            var issuer = server.BaseUri.ToString().TrimEnd('/');
            var config = new IssuerConfig
            {
                Name = "txn",
                Kind = IssuerKind.TxnToken,
                Issuer = issuer,
                Discovery = true,
                Audiences = ["shop.example"],
                Algorithms = ["ES256"],
            };
            using var http = new HttpClient();
            await using var runtime = new IssuerRuntime(config, http, TimeProvider.System, NullLoggerFactory.Instance);
            await runtime.StartAsync(CancellationToken.None);
            var now = DateTimeOffset.UtcNow;
            var token = TestTokens.Sign(key, new JsonObject
            {
                ["iss"] = issuer,
                ["aud"] = "shop.example",
                ["sub"] = "user-42",
                ["txn"] = "t-9",
                ["iat"] = now.ToUnixTimeSeconds(),
                ["exp"] = now.AddSeconds(60).ToUnixTimeSeconds(),
            }, header: h => h["typ"] = "txntoken+jwt");

            var result = await new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance).AuthenticateAsync(token, [runtime], CancellationToken.None);

            Assert.True(result.Succeeded, result.ToString());
            Assert.Equal(1, server.Count("/.well-known/oauth-authorization-server"));
            Assert.Equal(0, server.Count("/.well-known/openid-configuration"));
        }
    }
}
