using System.Buffers.Text;
using System.Security.Cryptography;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;

namespace Gatehouse.Tests.Identity;

/// <summary>
/// RFC 8705 §3 binding checks that <see cref="CertificateBindingTests"/> leaves to a single assertion or none: a
/// certificate that failed validation never satisfies a binding even with the right thumbprint, and a thumbprint is
/// exactly 43 base64url characters (every edge of the alphabet and of the length).
/// </summary>
public sealed class CertificateBindingPinTests
{
    [Fact]
    public void InvalidPeerCertificate_WithTheBoundThumbprint_IsAMismatch()
    {
        using var trusted = DevCertificateAuthority.Create("td", TimeProvider.System);
        using var rogue = DevCertificateAuthority.Create("td", TimeProvider.System);
        using var issued = rogue.IssueWorkload(SpiffeId.Parse("spiffe://td/a"));
        var bundles = new TrustBundleSet(new Dictionary<string, System.Security.Cryptography.X509Certificates.X509Certificate2Collection> { ["td"] = [trusted.Certificate] }, null);
        var peer = PeerCertificateValidator.Validate(issued.Certificate, null, bundles, TimeProvider.System);
        Assert.False(peer.IsValid);
        Assert.Equal(43, peer.Thumbprint.Length); // the rogue certificate's own thumbprint is known

        Assert.Equal(ReasonCodes.TokenBindingMismatch, CertificateBinding.Check(peer.Thumbprint, peer, bindingRequired: false));
        Assert.Equal(ReasonCodes.TokenBindingMismatch, CertificateBinding.Check(peer.Thumbprint, peer, bindingRequired: true));
    }

    [Theory]
    [InlineData(42)]
    [InlineData(44)]
    [InlineData(64)]
    public void EqualValues_OfTheWrongLength_NeverMatch(int length)
    {
        var value = new string('A', length);

        Assert.False(CertificateBinding.Matches(value, value));
    }

    [Theory]
    [InlineData('A')]
    [InlineData('Z')]
    [InlineData('a')]
    [InlineData('z')]
    [InlineData('0')]
    [InlineData('9')]
    [InlineData('-')]
    [InlineData('_')]
    public void EveryBase64UrlCharacter_IsAccepted(char c)
    {
        var value = new string(c, 43);

        Assert.True(CertificateBinding.Matches(value, value));
    }

    [Theory]
    [InlineData('@')] // before 'A'
    [InlineData('[')] // after 'Z'
    [InlineData('`')] // before 'a'
    [InlineData('{')] // after 'z'
    [InlineData('/')] // before '0', and standard base64
    [InlineData(':')] // after '9'
    [InlineData('+')] // standard base64
    [InlineData('=')]
    [InlineData('.')]
    public void AnyOtherCharacter_IsRefused_EvenWhenBothSidesAgree(char c)
    {
        var value = new string('A', 42) + c;

        Assert.False(CertificateBinding.Matches(value, value));
        Assert.False(CertificateBinding.Matches(new string('A', 43), value));
        Assert.False(CertificateBinding.Matches(value, new string('A', 43)));
    }

    [Fact]
    public void ThumbprintsDifferingInOneCharacter_AnywhereInTheValue_NeverMatch()
    {
        var thumbprint = Base64Url.EncodeToString(SHA256.HashData("cert"u8));
        foreach (var i in new[] { 0, 21, 42 })
        {
            var other = thumbprint[..i] + (thumbprint[i] == 'A' ? 'B' : 'A') + thumbprint[(i + 1)..];
            Assert.False(CertificateBinding.Matches(thumbprint, other), $"differs at {i}");
        }
    }
}
