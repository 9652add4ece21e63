using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Cli.Demo;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse token keygen|mint</c>: development helpers — make a signing key with its JWKS (for a
/// <c>jwks_file</c> issuer) and mint access tokens with it. Never for production issuers.
/// </summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var command = new Command("token", "Development helpers: make a signing key and mint access tokens with it.");
        command.Subcommands.Add(CreateKeygen());
        command.Subcommands.Add(CreateMint());
        return command;
    }

    private static Command CreateKeygen()
    {
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Directory for signing-key.pem and jwks.json.", Required = true };
        var alg = new Option<string>("--alg") { Description = "RS256 (default) or ES256.", DefaultValueFactory = _ => "RS256" };
        var kid = new Option<string?>("--kid") { Description = "Key id (default: random)." };
        var command = new Command("keygen", "Create a signing key (PEM, 0600) and the public JWKS for a jwks_file issuer.") { output, alg, kid };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(output)!;
            var algorithm = parse.GetValue(alg)!.ToUpperInvariant();
            var keyId = parse.GetValue(kid) ?? "dev-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            Directory.CreateDirectory(dir.FullName);
            string pem;
            SecurityKey key;
            switch (algorithm)
            {
                case "RS256":
                    var rsa = RSA.Create(2048);
                    pem = rsa.ExportPkcs8PrivateKeyPem();
                    key = new RsaSecurityKey(rsa) { KeyId = keyId };
                    break;
                case "ES256":
                    var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                    pem = ec.ExportPkcs8PrivateKeyPem();
                    key = new ECDsaSecurityKey(ec) { KeyId = keyId };
                    break;
                default:
                    Console.Error.WriteLine("error: --alg must be RS256 or ES256");
                    return ExitCodes.Error;
            }
            var keyPath = Path.Combine(dir.FullName, "signing-key.pem");
            File.WriteAllText(keyPath, pem);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            File.WriteAllText(Path.Combine(dir.FullName, "jwks.json"), DevTokenMinter.PublicJwks(key, algorithm));
            File.WriteAllText(Path.Combine(dir.FullName, "kid"), keyId);
            Console.Out.WriteLine($"wrote {keyPath} (private, 0600), {Path.Combine(dir.FullName, "jwks.json")} (kid {keyId})");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateMint()
    {
        var keyFile = new Option<FileInfo>("--key", "-k") { Description = "PEM private key (from `token keygen`).", Required = true };
        var kid = new Option<string?>("--kid") { Description = "Key id (default: the `kid` file beside the key)." };
        var alg = new Option<string?>("--alg") { Description = "Signing algorithm (default: RS256 for RSA keys, ES256 for P-256)." };
        var iss = new Option<string>("--iss") { Description = "Issuer (iss).", Required = true };
        var aud = new Option<string[]>("--aud") { Description = "Audience (aud); repeat for several.", Required = true };
        var sub = new Option<string>("--sub") { Description = "Subject (sub).", DefaultValueFactory = _ => "dev-client" };
        var scope = new Option<string?>("--scope") { Description = "Space-separated scopes." };
        var lifetime = new Option<int>("--exp") { Description = "Lifetime in seconds from now (negative: already expired).", DefaultValueFactory = _ => 300 };
        var claims = new Option<string?>("--claims") { Description = "Extra claims as a JSON object, merged in." };
        var command = new Command("mint", "Mint a signed RFC 9068 access token.") { keyFile, kid, alg, iss, aud, sub, scope, lifetime, claims };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(keyFile)!;
            var keyId = parse.GetValue(kid);
            if (keyId is null)
            {
                var kidFile = Path.Combine(file.DirectoryName ?? ".", "kid");
                keyId = File.Exists(kidFile) ? File.ReadAllText(kidFile).Trim() : null;
            }
            var (key, defaultAlg) = DevTokenMinter.LoadPrivateKey(File.ReadAllText(file.FullName), keyId ?? "dev");
            var now = DateTimeOffset.UtcNow;
            var audiences = parse.GetValue(aud)!;
            var payload = new Dictionary<string, object>
            {
                ["iss"] = parse.GetValue(iss)!,
                ["sub"] = parse.GetValue(sub)!,
                ["client_id"] = parse.GetValue(sub)!,
                ["aud"] = audiences.Length == 1 ? audiences[0] : audiences,
                ["iat"] = now.ToUnixTimeSeconds(),
                ["exp"] = now.AddSeconds(parse.GetValue(lifetime)).ToUnixTimeSeconds(),
                ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            };
            if (parse.GetValue(scope) is { } scopes)
            {
                payload["scope"] = scopes;
            }
            if (parse.GetValue(claims) is { } extra)
            {
                using var document = JsonDocument.Parse(extra);
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    payload[property.Name] = property.Value.Clone();
                }
            }
            Console.Out.WriteLine(DevTokenMinter.Mint(key, parse.GetValue(alg) ?? defaultAlg, payload));
            return ExitCodes.Ok;
        });
        return command;
    }
}
