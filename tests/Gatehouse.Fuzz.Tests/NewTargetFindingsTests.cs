using System.Text;
using Gatehouse.Cli.Import.Istio;
using Gatehouse.Configuration;
using Gatehouse.Fuzz.Targets;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.ExtAuthz.Wire.Core;

namespace Gatehouse.Fuzz.Tests;

/// <summary>
/// What the extauthz, istio, dpop and config targets found, pinned outside the fuzz harness, plus guards that the new
/// targets are not vacuous (their valid seeds really reach the deep checks).
/// </summary>
public sealed class NewTargetFindingsTests
{
    private static CheckRequest Check(string host, uint? destinationPort, string? principal = null) => new()
    {
        Attributes = new AttributeContext
        {
            Source = new AttributeContext.Types.Peer { Principal = principal ?? "" },
            Destination = destinationPort is { } port
                ? new AttributeContext.Types.Peer { Address = new Address { SocketAddress = new SocketAddress { Address = "10.0.0.9", PortValue = port } } }
                : null,
            Request = new AttributeContext.Types.Request
            {
                Http = new AttributeContext.Types.HttpRequest { Method = "GET", Path = "/orders/1", Host = host, Scheme = "https" },
            },
        },
    };

    [Fact]
    public void ExtAuthz_PortIsTheDestinationPort_NotTheOneTheClientWroteIntoAuthority()
    {
        var request = CheckRequestMapper.Map(Check("api.example.com:8443", 8080), new ExtAuthzOptions());

        Assert.NotNull(request);
        Assert.Equal(8080, request.Port);
        Assert.Equal("api.example.com", request.Host);
    }

    [Theory]
    [InlineData("api.example.com:8443", null, 8443)] // no destination reported: the authority's port
    [InlineData("api.example.com:99999", null, 443)] // out of range: the scheme's default
    [InlineData("api.example.com", 70000u, 443)]
    [InlineData("api.example.com:0", 0u, 443)]
    public void ExtAuthz_PortFallsBackOnlyToValidPorts(string host, uint? destination, int expected)
    {
        var request = CheckRequestMapper.Map(Check(host, destination), new ExtAuthzOptions());

        Assert.NotNull(request);
        Assert.Equal(expected, request.Port);
    }

    [Theory]
    [InlineData("spiffe://cluster.local/ns/foo/../bar/sa/x")]
    [InlineData("spiffe://cluster.local/ns//sa/x")]
    [InlineData("spiffe://Cluster.Local/ns/foo/sa/x")]
    [InlineData("spiffe://cluster.local/ns/foo/sa/x\r\nx-injected: 1")]
    [InlineData("spiffe://")]
    public void ExtAuthz_MalformedSpiffePrincipal_IsNoWorkloadIdentity(string principal)
    {
        var request = CheckRequestMapper.Map(Check("api.example.com", 443, principal), new ExtAuthzOptions());

        Assert.NotNull(request);
        Assert.Null(request.PeerIdentity);
    }

    [Theory]
    [InlineData("GET", "admin.example.com\r")]
    [InlineData("GET", "admin.example.com\r\nx-injected: 1")]
    [InlineData("GET", "admin example.com")]
    [InlineData("GET", "admin.exämple.com")]
    [InlineData("DELETE\r", "api.example.com")]
    [InlineData("GET /x HTTP/1.1", "api.example.com")]
    public void ExtAuthz_MethodOrAuthorityNoHttpParserWouldProduce_IsNotMapped(string method, string host)
    {
        var check = Check(host, 443);
        check.Attributes.Request.Http.Method = method;

        Assert.Null(CheckRequestMapper.Map(check, new ExtAuthzOptions()));
    }

    [Fact]
    public void ExtAuthz_ValidSpiffePrincipal_IsTheWorkloadIdentity()
    {
        var request = CheckRequestMapper.Map(Check("api.example.com", 443, "spiffe://cluster.local/ns/foo/sa/x"), new ExtAuthzOptions());

        Assert.Equal("spiffe://cluster.local/ns/foo/sa/x", request!.PeerIdentity);
    }

    [Fact]
    public void Istio_TagThatIsNotAUri_IsALocatedWarning_NotAnException()
    {
        var result = IstioImporter.Import([("bad.yaml", "!!!!!!!!!!!!!!!!+8")]);

        var warning = Assert.Single(result.Warnings);
        Assert.StartsWith("bad.yaml: not valid YAML, skipped:", warning, StringComparison.Ordinal);
        Assert.Empty(result.Policies);
    }

    [Fact]
    public void Config_TagThatIsNotAUri_IsALocatedError_NotAnException()
    {
        var result = ConfigLoader.LoadYaml("version: 1\nlisteners: !!!!!!!!!!!!+8\n", "c.yaml", Path.GetTempPath(), new Dictionary<string, string>());

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal("<yaml>", error.Path);
        Assert.True(error.Line >= 1 && error.Column >= 1);
        Assert.Contains("YAML syntax error", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("raw-valid", 2)]
    [InlineData("signed-valid", 2)]
    [InlineData("signed-nonce", 2)]
    [InlineData("signed-htu-normalized", 2)] // upper-case scheme and host, default port, %7E and .., query and fragment
    [InlineData("signed-htu-public-origin", 1)] // only the second set lists https://public.example.com
    [InlineData("signed-iat-edge", 1)] // 65 s old: within 60 s + 5 s skew, not within the second set's 10 s
    [InlineData("raw-alg-none", 0)]
    [InlineData("raw-two-proofs", 0)]
    [InlineData("signed-jwk-private", 0)]
    [InlineData("signed-crit", 0)]
    [InlineData("signed-htu-encoded-slash", 0)]
    public void Dpop_SeedsReachTheChecksTheyAreFor(string seed, int acceptedBy)
    {
        var input = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "corpus", "dpop", seed));

        Assert.Equal(acceptedBy, DpopProofTarget.Accepted(input));
    }

    [Fact]
    public void Dpop_TheHarnessKeyIsTheTokensBoundKey()
    {
        // Guards the harness constants: a wrong thumbprint would make every signed proof a binding mismatch.
        var jwk = $$"""{"crv":"P-256","kty":"EC","x":"{{DpopProofTarget.KeyX}}","y":"{{DpopProofTarget.KeyY}}"}""";
        var thumbprint = System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(jwk)));

        Assert.Equal(DpopProofTarget.KeyThumbprint, thumbprint);
    }
}
