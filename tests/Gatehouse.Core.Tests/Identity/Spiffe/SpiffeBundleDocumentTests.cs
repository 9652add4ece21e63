using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Tests.Identity.Spiffe;

/// <summary>SPIFFE bundle format (SPIFFE Trust Domain and Bundle spec §4; X509-SVID spec §6).</summary>
public sealed class SpiffeBundleDocumentTests : IDisposable
{
    private readonly X509Certificate2 _ca = Root("west.example root 1");
    private readonly X509Certificate2 _next = Root("west.example root 2");

    public void Dispose()
    {
        _ca.Dispose();
        _next.Dispose();
    }

    private static X509Certificate2 Root(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static bool Parse(string json, out SpiffeBundleDocument? bundle, out string? error) =>
        SpiffeBundleDocument.TryParse(Encoding.UTF8.GetBytes(json), out bundle, out error);

    private static string Der(X509Certificate2 certificate) => Convert.ToBase64String(certificate.RawData);

    [Fact]
    public void Created_bundle_round_trips_with_sequence_and_refresh_hint()
    {
        var json = SpiffeBundleDocument.Create([_ca, _next], sequence: 7, refreshHint: TimeSpan.FromMinutes(10));

        Assert.True(Parse(json, out var bundle, out var error), error);
        Assert.Equal(7, bundle!.Sequence);
        Assert.Equal(TimeSpan.FromMinutes(10), bundle.RefreshHint);
        Assert.Equal([_ca.Thumbprint, _next.Thumbprint], bundle.Authorities.Select(c => c.Thumbprint));
        Assert.Contains("\"use\": \"x509-svid\"", json, StringComparison.Ordinal);
        Assert.Contains("\"kty\": \"EC\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Jwt_svid_keys_unknown_uses_and_unknown_key_types_are_ignored()
    {
        // §4.1.3 / §4.2.1 / §4.2.2: clients MUST ignore JWK elements with unknown kty or use.
        var json = $$"""
            {"spiffe_sequence":1,"keys":[
              {"kty":"EC","use":"jwt-svid","kid":"k1","crv":"P-256","x":"AA","y":"AA"},
              {"kty":"OKP","use":"x509-svid","x5c":["AAAA"]},
              {"kty":"EC","use":"something-new","x5c":["AAAA"]},
              {"kty":"EC","use":"x509-svid","crv":"P-256","x5c":["{{Der(_ca)}}"]}
            ]}
            """;

        Assert.True(Parse(json, out var bundle, out var error), error);
        Assert.Equal(_ca.Thumbprint, Assert.Single(bundle!.Authorities).Thumbprint);
        Assert.Null(bundle.RefreshHint);
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { "not JSON", "{", "not JSON" },
        { "not an object", "[]", "not a JSON object" },
        { "keys missing (§4.1.3: MUST be present)", """{"spiffe_sequence":1}""", "no keys array" },
        { "no X.509 authority at all", """{"keys":[{"kty":"EC","use":"jwt-svid"}]}""", "no x509-svid authority" },
        { "x5c with two certificates", """{"keys":[{"kty":"EC","use":"x509-svid","x5c":["AAAA","AAAA"]}]}""", "exactly one certificate" },
        { "x5c missing", """{"keys":[{"kty":"EC","use":"x509-svid"}]}""", "exactly one certificate" },
        { "x5c not base64 DER", """{"keys":[{"kty":"EC","use":"x509-svid","x5c":["not-a-cert!"]}]}""", "not a base64 DER certificate" },
        { "negative sequence", """{"spiffe_sequence":-1,"keys":[]}""", "spiffe_sequence" },
        { "refresh hint as a string", """{"spiffe_refresh_hint":"300","keys":[]}""", "spiffe_refresh_hint" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_bundles_are_errors_never_partial(string name, string json, string error)
    {
        Assert.False(Parse(json, out var bundle, out var actual), name);
        Assert.Null(bundle);
        Assert.Contains(error, actual, StringComparison.Ordinal);
    }

    [Fact]
    public void Rsa_authorities_are_written_with_their_modulus()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=rsa-root", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        var json = SpiffeBundleDocument.Create([root]);

        Assert.Contains("\"kty\": \"RSA\"", json, StringComparison.Ordinal);
        Assert.True(Parse(json, out var bundle, out _));
        Assert.Equal(root.Thumbprint, Assert.Single(bundle!.Authorities).Thumbprint);
    }
}
