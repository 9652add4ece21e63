using System.Buffers.Text;
using System.Security.Cryptography;
using Gatehouse.Decisions;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;

namespace Gatehouse.Tests.Identity;

public sealed class CertificateBindingTests
{
    private static readonly string s_thumbprint = Base64Url.EncodeToString(SHA256.HashData("cert-a"u8));
    private static readonly string s_other = Base64Url.EncodeToString(SHA256.HashData("cert-b"u8));

    [Fact]
    public void Matches_only_the_same_well_formed_thumbprint()
    {
        Assert.True(CertificateBinding.Matches(s_thumbprint, s_thumbprint));
        Assert.False(CertificateBinding.Matches(s_thumbprint, s_other));
        Assert.False(CertificateBinding.Matches(null, s_thumbprint));
        Assert.False(CertificateBinding.Matches(s_thumbprint, null));
        Assert.False(CertificateBinding.Matches("", ""));
        Assert.False(CertificateBinding.Matches(s_thumbprint + "=", s_thumbprint + "="), "padding is not base64url (RFC 8705 §3.1)");
        Assert.False(CertificateBinding.Matches("not base64 at all, but 43 characters long!!", "not base64 at all, but 43 characters long!!"));
        var hexLike = Convert.ToHexStringLower(SHA256.HashData("cert-a"u8));
        Assert.False(CertificateBinding.Matches(hexLike, hexLike));
    }

    [Fact]
    public void Rfc8705_example_value_decodes()
    {
        // RFC 8705 §3.1 example confirmation claim value.
        const string example = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2";
        Assert.True(CertificateBinding.Matches(example, example));
    }

    [Fact]
    public void Check_applies_rfc8705_rules()
    {
        using var ca = DevCertificateAuthority.Create("td", TimeProvider.System);
        using var issued = ca.IssueWorkload(SpiffeId.Parse("spiffe://td/a"));
        var bundles = new TrustBundleSet(new Dictionary<string, System.Security.Cryptography.X509Certificates.X509Certificate2Collection> { ["td"] = [ca.Certificate] }, null);
        var peer = PeerCertificateValidator.Validate(issued.Certificate, null, bundles, TimeProvider.System);
        Assert.True(peer.IsValid, peer.FailureReason);

        Assert.Null(CertificateBinding.Check(peer.Thumbprint, peer, bindingRequired: true));
        Assert.Null(CertificateBinding.Check(null, peer, bindingRequired: false));
        Assert.Null(CertificateBinding.Check(null, null, bindingRequired: false));
        Assert.Equal(ReasonCodes.TokenBindingRequired, CertificateBinding.Check(null, peer, bindingRequired: true));
        Assert.Equal(ReasonCodes.TokenBindingMismatch, CertificateBinding.Check(s_other, peer, bindingRequired: false));
        Assert.Equal(ReasonCodes.TokenBindingMismatch, CertificateBinding.Check(peer.Thumbprint, null, bindingRequired: false));
        Assert.Equal(ReasonCodes.TokenBindingMismatch, CertificateBinding.Check(peer.Thumbprint, PeerCertificateResult.Missing, bindingRequired: false));
    }
}
