using System.Security.Cryptography.X509Certificates;
using Gatehouse.Decisions;
using Gatehouse.DevCa;
using Gatehouse.Identity.Certificates;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Model;

namespace Gatehouse.Tests.Identity;

public sealed class PeerCertificateValidatorTests : IDisposable
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly TestClock _clock = new(s_now);
    private readonly DevCertificateAuthority _caA;
    private readonly DevCertificateAuthority _caB;
    private readonly DevCertificateAuthority _caUnconstrained;

    public PeerCertificateValidatorTests()
    {
        var options = new DevCaOptions { NotBefore = s_now.AddDays(-10), Lifetime = TimeSpan.FromDays(30) };
        _caA = DevCertificateAuthority.Create("a.test", _clock, options);
        _caB = DevCertificateAuthority.Create("b.test", _clock, options);
        _caUnconstrained = DevCertificateAuthority.Create("a.test", _clock, options with { ConstrainToTrustDomain = false });
    }

    public void Dispose()
    {
        _caA.Dispose();
        _caB.Dispose();
        _caUnconstrained.Dispose();
    }

    private TrustBundleSet Bundles(params (string Td, DevCertificateAuthority Ca)[] entries)
        => new(entries.ToDictionary(e => e.Td, e => new X509Certificate2Collection(e.Ca.Certificate)), null);

    private PeerCertificateResult Validate(X509Certificate2? leaf, TrustBundleSet bundles, PeerRole role = PeerRole.Client)
        => PeerCertificateValidator.Validate(leaf, null, bundles, _clock, role);

    [Fact]
    public void Valid_svid_yields_identity_and_rfc8705_thumbprint()
    {
        using var issued = _caA.IssueWorkload(SpiffeId.Parse("spiffe://a.test/ns/shop/sa/checkout"));
        var result = Validate(issued.Certificate, Bundles(("a.test", _caA)));

        Assert.True(result.IsValid, result.FailureReason);
        Assert.Equal("spiffe://a.test/ns/shop/sa/checkout", result.Identity.Value);
        Assert.Equal("checkout", result.Identity.ServiceAccount);
        Assert.Equal(CertificateNames.Sha256Thumbprint(issued.Certificate), result.Thumbprint);
        Assert.Equal(43, result.Thumbprint.Length);
        Assert.DoesNotContain('=', result.Thumbprint);
        Assert.Equal(64, result.HashHex.Length);
        Assert.Null(result.FailureReason);
    }

    [Fact]
    public void Missing_certificate()
    {
        var result = Validate(null, Bundles(("a.test", _caA)));
        Assert.False(result.IsValid);
        Assert.Equal(ReasonCodes.PeerCertificateMissing, result.FailureReason);
    }

    [Fact]
    public void Certificate_from_another_ca_is_untrusted()
    {
        using var otherCa = DevCertificateAuthority.Create("a.test", _clock, new DevCaOptions { NotBefore = s_now.AddDays(-1) });
        using var issued = otherCa.IssueWorkload(SpiffeId.Parse("spiffe://a.test/x"));
        AssertInvalid(Validate(issued.Certificate, Bundles(("a.test", _caA))), PeerCertificateFailures.UntrustedChain);
    }

    [Fact]
    public void Expired_and_not_yet_valid_are_judged_at_the_time_providers_now()
    {
        using var issued = _caA.IssueWorkload(SpiffeId.Parse("spiffe://a.test/x"), new WorkloadCertificateOptions { NotBefore = s_now.AddHours(-1), Lifetime = TimeSpan.FromHours(2) });
        var bundles = Bundles(("a.test", _caA));
        Assert.True(Validate(issued.Certificate, bundles).IsValid);

        _clock.Now = s_now.AddHours(2);
        AssertInvalid(Validate(issued.Certificate, bundles), PeerCertificateFailures.Expired);

        _clock.Now = s_now.AddHours(-2);
        AssertInvalid(Validate(issued.Certificate, bundles), PeerCertificateFailures.NotYetValid);
    }

    [Fact]
    public void No_uri_san_is_rejected()
    {
        using var issued = _caA.Issue(new DevCertificateRequest { DnsNames = ["x.a.test"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1) });
        AssertInvalid(Validate(issued.Certificate, Bundles(("a.test", _caA))), PeerCertificateFailures.NoUriSan);
    }

    [Fact]
    public void Two_uri_sans_are_rejected()
    {
        using var issued = _caA.Issue(new DevCertificateRequest { Uris = ["spiffe://a.test/x", "spiffe://a.test/y"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1) });
        AssertInvalid(Validate(issued.Certificate, Bundles(("a.test", _caA))), PeerCertificateFailures.MultipleUriSans);
    }

    [Fact]
    public void Non_spiffe_uri_san_is_rejected()
    {
        using var issued = _caA.Issue(new DevCertificateRequest { Uris = ["https://a.test/x"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1) });
        AssertInvalid(Validate(issued.Certificate, Bundles(("a.test", _caA))), PeerCertificateFailures.InvalidSpiffeId);
    }

    [Fact]
    public void Trust_domain_without_a_bundle_is_rejected_even_if_another_domains_ca_signed_it()
    {
        // A certificate naming b.test, signed by a.test's CA, presented where only a.test is trusted.
        using var issued = _caUnconstrained.Issue(new DevCertificateRequest { Uris = ["spiffe://b.test/x"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1) });
        AssertInvalid(Validate(issued.Certificate, Bundles(("a.test", _caUnconstrained))), PeerCertificateFailures.UnknownTrustDomain);
    }

    [Fact]
    public void Each_trust_domain_is_verified_against_its_own_bundle_only()
    {
        // b.test has its own bundle, so a.test's CA cannot vouch for a b.test identity.
        using var issued = _caUnconstrained.Issue(new DevCertificateRequest { Uris = ["spiffe://b.test/x"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1) });
        AssertInvalid(Validate(issued.Certificate, Bundles(("a.test", _caUnconstrained), ("b.test", _caB))), PeerCertificateFailures.UntrustedChain);

        using var good = _caB.IssueWorkload(SpiffeId.Parse("spiffe://b.test/x"));
        Assert.True(Validate(good.Certificate, Bundles(("a.test", _caA), ("b.test", _caB))).IsValid);
    }

    [Fact]
    public void Fallback_bundle_serves_domains_without_their_own_but_never_overrides_one()
    {
        using var issued = _caB.IssueWorkload(SpiffeId.Parse("spiffe://b.test/x"));
        var fallbackOnly = new TrustBundleSet(new Dictionary<string, X509Certificate2Collection>(), new X509Certificate2Collection(_caB.Certificate));
        Assert.True(Validate(issued.Certificate, fallbackOnly).IsValid);

        var ownBundleWins = new TrustBundleSet(new Dictionary<string, X509Certificate2Collection> { ["b.test"] = [_caA.Certificate] }, new X509Certificate2Collection(_caB.Certificate));
        AssertInvalid(Validate(issued.Certificate, ownBundleWins), PeerCertificateFailures.UntrustedChain);
    }

    [Fact]
    public void Name_constrained_ca_cannot_vouch_for_another_trust_domain_through_the_fallback_bundle()
    {
        // The dev CA carries a URI name constraint (RFC 5280 §4.2.1.10) permitting only its own trust domain.
        using var issued = _caA.Issue(new DevCertificateRequest { Uris = ["spiffe://b.test/x"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1) });
        var fallback = new TrustBundleSet(new Dictionary<string, X509Certificate2Collection>(), new X509Certificate2Collection(_caA.Certificate));
        var result = Validate(issued.Certificate, fallback);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Eku_must_allow_the_peers_role()
    {
        using var clientOnly = _caA.Issue(new DevCertificateRequest
        {
            Uris = ["spiffe://a.test/x"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1),
            ExtendedKeyUsages = [DevCertificateRequest.ClientAuthOid],
        });
        var bundles = Bundles(("a.test", _caA));
        Assert.True(Validate(clientOnly.Certificate, bundles, PeerRole.Client).IsValid);
        AssertInvalid(Validate(clientOnly.Certificate, bundles, PeerRole.Server), PeerCertificateFailures.WrongExtendedKeyUsage);

        using var noEku = _caA.Issue(new DevCertificateRequest { Uris = ["spiffe://a.test/x"], NotBefore = s_now.AddHours(-1), NotAfter = s_now.AddHours(1), ExtendedKeyUsages = [] });
        Assert.True(Validate(noEku.Certificate, bundles, PeerRole.Server).IsValid);
    }

    [Fact]
    public void A_ca_certificate_is_not_a_leaf_svid()
    {
        // The CA has a URI SAN spiffe://a.test and chains to itself, but X509-SVID §4.1 forbids CA leaves.
        AssertInvalid(Validate(_caA.Certificate, Bundles(("a.test", _caA))), PeerCertificateFailures.LeafIsCa);
    }

    [Fact]
    public void Presented_intermediates_are_used_for_chain_building_only()
    {
        using var issued = _caA.IssueWorkload(SpiffeId.Parse("spiffe://a.test/x"));
        // Sending the root in the chain does not make a foreign root trusted.
        var presented = new X509Certificate2Collection { issued.Certificate, _caA.Certificate };
        var result = PeerCertificateValidator.Validate(issued.Certificate, presented, Bundles(("a.test", _caB)), _clock);
        AssertInvalid(result, PeerCertificateFailures.UntrustedChain);
        Assert.True(PeerCertificateValidator.Validate(issued.Certificate, presented, Bundles(("a.test", _caA)), _clock).IsValid);
    }

    private static void AssertInvalid(PeerCertificateResult result, string detail)
    {
        Assert.False(result.IsValid);
        Assert.Null(result.Identity);
        Assert.StartsWith(ReasonCodes.PeerCertificateInvalid + ":" + detail, result.FailureReason, StringComparison.Ordinal);
    }
}
