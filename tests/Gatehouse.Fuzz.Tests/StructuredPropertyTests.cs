using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Gatehouse.Fuzz.Targets;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.ExtAuthz.Wire.Core;
using Gatehouse.Tokens.Dpop;
using Google.Protobuf;

namespace Gatehouse.Fuzz.Tests;

/// <summary>
/// Generated (not mutated) inputs for the targets whose interesting inputs are structured: CheckRequests built field by
/// field from hostile vocabularies, and DPoP proofs whose every claim is drawn from near-valid values and signed by the
/// harness key, so most of them reach the late checks. Fixed seed, bounded iterations; a failure prints the CsCheck
/// seed (rerun with <c>seed:</c>) and the input.
/// </summary>
public sealed class StructuredPropertyTests
{
    private const string Seed = "0N0XIzNsQ0O2";
    private const int Iterations = 2_000;

    private static readonly string[] s_paths = ["/orders/1", "/a/../b", "/%2e%2e/x", "/x%2Fy", "/x?y=1", "?only", "", "/a\\b", "/a%00b", "//double", "/é", "/a;b=c/d", "/\r\n"];
    private static readonly string[] s_hosts = ["api.example.com", "API.Example.COM.", "api.example.com:8443", "[::1]:99999", "x:0", "a:-1", "", "h\r\nx: y", "[2001:db8::1]", "host:65535"];
    private static readonly string[] s_principals = ["", "spiffe://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/../sa/b", "SPIFFE://Cluster.Local/x", "spiffe://", "spiffe://td/a\r\nb", "https://not-spiffe", "spiffe://td//x"];
    private static readonly string[] s_headerValues = ["v", "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "\r\n", "a,b", "Bearer x.y.z"];
    private static readonly string[] s_headerNames = [":path", ":authority", ":method", "host", "traceparent", "authorization", "X-Multi", "x-multi"];

    private static readonly Gen<byte[]> s_checkRequests =
        Gen.Select(Gen.OneOf(s_paths), Gen.OneOf(s_hosts), Gen.OneOf("GET", "", "get", "DELETE"), Gen.OneOf(s_principals), Gen.UInt[0, 70_000].Nullable(),
                Gen.Select(Gen.OneOf(s_headerNames), Gen.OneOf(s_headerValues)).Array[0, 4], Gen.Bool, Gen.OneOf("https", "HTTP", ""),
            (path, host, method, principal, port, headers, raw, scheme) =>
            {
                var http = new AttributeContext.Types.HttpRequest { Method = method, Path = path, Host = host, Scheme = scheme };
                foreach (var (name, value) in headers)
                {
                    if (raw)
                    {
                        http.HeaderMap ??= new HeaderMap();
                        http.HeaderMap.Headers.Add(new HeaderValue { Key = name, RawValue = ByteString.CopyFromUtf8(value) });
                    }
                    else
                    {
                        http.Headers[name] = value;
                    }
                }

                var attributes = new AttributeContext
                {
                    Source = new AttributeContext.Types.Peer
                    {
                        Principal = principal,
                        Address = new Address { SocketAddress = new SocketAddress { Address = "10.1.2.3", PortValue = 5 } },
                    },
                    Request = new AttributeContext.Types.Request { Http = http },
                };
                if (port is { } p)
                {
                    attributes.Destination = new AttributeContext.Types.Peer { Address = new Address { SocketAddress = new SocketAddress { Address = "10.0.0.9", PortValue = p } } };
                }

                return new CheckRequest { Attributes = attributes }.ToByteArray();
            });

    private static readonly string[] s_htus =
    [
        "https://api.example.com/orders/7", "HTTPS://API.EXAMPLE.COM:443/orders/7", "https://api.example.com/orders/%7E/../7", "https://api.example.com/orders/7?q#f",
        "https://api.example.com:8443/orders/7", "http://api.example.com/orders/7", "https://public.example.com/orders/7", "https://user@api.example.com/orders/7",
        "https://api.example.com/orders%2F7", "https://api.example.com/orders/./7", "https://api.example.com/Orders/7", "/orders/7", "https://api.example.com/orders/7/",
        "https://api.example.com\\orders/7", "https://api.example.com/orders/%37", "https://api.example.com/orders//7", "https://api.example.com./orders/7",
    ];

    private static readonly Gen<byte[]> s_proofs =
        // Each field takes its valid value most of the time, so that a fair share of the proofs pass every check.
        Gen.Select(Gen.OneOf("dpop+jwt", "dpop+jwt", "dpop+jwt", "DPoP+JWT", "jwt", ""), Gen.OneOf("ES256", "ES256", "ES256", "ES256", "ES384", "none", "HS256", "PS256"),
                Gen.OneOf(s_htus), Gen.OneOf("GET", "GET", "GET", "GET", "get", "POST"), Gen.Int[-80, 10], Gen.Int[0, 4].Select(i => i == 0),
                Gen.OneOf("jti-1", "jti-1", "jti-1", "jti-1", "", new string('j', 257)), Gen.Int[0, 5],
            (typ, alg, htu, htm, age, crit, jti, jwkVariant) =>
            {
                var jwk = new JsonObject { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = DpopProofTarget.KeyX, ["y"] = DpopProofTarget.KeyY };
                switch (jwkVariant)
                {
                    case 1:
                        jwk["d"] = "AAAA";
                        break;
                    case 2:
                        jwk["crv"] = "P-384";
                        break;
                }

                var header = new JsonObject { ["typ"] = typ, ["alg"] = alg, ["jwk"] = jwk };
                if (crit)
                {
                    header["crit"] = new JsonArray("exp");
                }

                var claims = new JsonObject
                {
                    ["jti"] = jti,
                    ["htm"] = htm,
                    ["htu"] = htu,
                    ["iat"] = DpopProofTarget.Now.ToUnixTimeSeconds() + age,
                    ["ath"] = DpopProofValidator.AccessTokenHash(DpopProofTarget.AccessToken),
                };
                return (byte[])[1, .. Encoding.UTF8.GetBytes(header.ToJsonString()), (byte)'\n', .. Encoding.UTF8.GetBytes(claims.ToJsonString())];
            });

    [Fact]
    public void ExtAuthz_GeneratedCheckRequests_KeepEveryInvariant() =>
        s_checkRequests.Sample(input => FuzzTargets.Find("extauthz")!.Run(input), iter: Iterations, seed: Seed, threads: 1,
            print: input => Convert.ToBase64String(input));

    [Fact]
    public void Dpop_GeneratedSignedProofs_KeepEveryInvariant_AndSomeAreAccepted()
    {
        var accepted = 0;
        s_proofs.Sample(input => accepted += DpopProofTarget.Accepted(input), iter: Iterations, seed: Seed, threads: 1,
            print: input => Encoding.UTF8.GetString(input.AsSpan(1)));

        // Guards the property against a generator that never reaches the accept path.
        Assert.True(accepted > 20, $"only {accepted} generated proofs were accepted");
    }
}
