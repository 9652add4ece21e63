using Gatehouse.Identity.Certificates;

namespace Gatehouse.Tests.Identity;

/// <summary>
/// XFCC parser and writer edges that survived mutation testing (docs/security.md, "Mutation testing", the
/// identity-checks set). The parser reads another proxy's header on trusted listeners: it must never throw, whatever
/// the last character is, and must read exactly what Envoy writes.
/// </summary>
public sealed class XfccMutationTests
{
    [Theory]
    [InlineData("By=")]
    [InlineData("By=a;URI=")]
    [InlineData("Subject=\"CN=x\"")]
    [InlineData("By=a;Subject=\"CN=x,O=y\"")]
    public void AValueEndingTheHeader_IsRead(string header)
    {
        // The value (empty, unquoted or quoted) is the last thing in the header: reading past it would throw.
        var result = Xfcc.Parse(header);

        Assert.True(result.Success, result.Error);
        Assert.Single(result.Elements);
    }

    [Theory]
    [InlineData("Subject=\"abc\\")]
    [InlineData("Subject=\"abc")]
    [InlineData("By=a;Subject=\"")]
    public void AQuotedValueCutShort_IsUnterminated_NeverAnException(string header)
    {
        var result = Xfcc.Parse(header);

        Assert.False(result.Success);
        Assert.Equal("unterminated quoted value", result.Error);
        Assert.Null(result.Nearest);
    }

    [Fact]
    public void SpacesAfterAClosingQuote_AreSkipped()
    {
        var result = Xfcc.Parse("By=a;Subject=\"CN=x\"  ;URI=spiffe://td/ns/a/sa/b , By=b;URI=spiffe://td/ns/c/sa/d");

        Assert.True(result.Success, result.Error);
        Assert.Equal(2, result.Elements.Count);
        Assert.Equal("CN=x", result.Elements[0].Subject);
        Assert.Equal("spiffe://td/ns/a/sa/b", result.Elements[0].Uri);
        Assert.Equal("spiffe://td/ns/c/sa/d", result.Nearest?.Uri);
    }

    [Fact]
    public void TheLengthLimit_IsInclusive()
    {
        var atLimit = "By=" + new string('a', Xfcc.MaxHeaderLength - 3);
        var overLimit = atLimit + "a";

        Assert.True(Xfcc.Parse(atLimit).Success);
        Assert.Equal("too_long", Xfcc.Parse(overLimit).Error);
    }

    [Fact]
    public void AnEmptyResult_HasNoNearestElement()
    {
        Assert.Null(Xfcc.Parse("").Nearest);
        Assert.Null(Xfcc.Parse("By=\"").Nearest);
    }

    [Fact]
    public void EveryField_IsWrittenInEnvoysOrderAndQuoting_AndReadBackUnchanged()
    {
        // Envoy's key order (By, Hash, Cert, Chain, Subject, URI, DNS); Subject always quoted; other values quoted only
        // when they hold ',', ';' or '=' (a URL-encoded PEM ends in base64 '=' padding).
        var element = new XfccElement
        {
            By = "spiffe://td/ns/gw/sa/gatehouse",
            Hash = "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688",
            Cert = "-----BEGIN%20CERTIFICATE-----%0AMIIB==%0A-----END%20CERTIFICATE-----%0A",
            Chain = "-----BEGIN%20CERTIFICATE-----%0AMIIC%0A-----END%20CERTIFICATE-----%0A",
            Subject = "Test Client",
            Uris = ["spiffe://td/ns/a/sa/b"],
            Dns = ["a.example.com", "b.example.com"],
        };

        var header = Xfcc.Format(element);

        Assert.Equal(
            "By=spiffe://td/ns/gw/sa/gatehouse;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;" +
            "Cert=\"-----BEGIN%20CERTIFICATE-----%0AMIIB==%0A-----END%20CERTIFICATE-----%0A\";" +
            "Chain=-----BEGIN%20CERTIFICATE-----%0AMIIC%0A-----END%20CERTIFICATE-----%0A;" +
            "Subject=\"Test Client\";URI=spiffe://td/ns/a/sa/b;DNS=a.example.com;DNS=b.example.com",
            header);
        var read = Assert.Single(Xfcc.Parse(header).Elements);
        Assert.Equal(element.By, read.By);
        Assert.Equal(element.Hash, read.Hash);
        Assert.Equal(element.Cert, read.Cert);
        Assert.Equal(element.Chain, read.Chain);
        Assert.Equal(element.Subject, read.Subject);
        Assert.Equal(element.Uris, read.Uris);
        Assert.Equal(element.Dns, read.Dns);
    }
}
