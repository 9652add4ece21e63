using Gatehouse.Identity.Certificates;

namespace Gatehouse.Tests.Identity;

public sealed class XfccTests
{
    [Fact]
    public void Formats_like_envoy()
    {
        var value = Xfcc.Format("spiffe://lyft.com/frontend", "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688",
            "spiffe://lyft.com/test-team", "/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client");
        Assert.Equal(
            "By=spiffe://lyft.com/frontend;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;" +
            "Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";URI=spiffe://lyft.com/test-team",
            value);
    }

    [Fact]
    public void Parses_envoy_documentation_examples()
    {
        // Examples from Envoy's x-forwarded-client-cert documentation.
        var result = Xfcc.Parse("By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";URI=http://testclient.lyft.com");
        Assert.True(result.Success, result.Error);
        var element = Assert.Single(result.Elements);
        Assert.Equal("http://frontend.lyft.com", element.By);
        Assert.Equal("/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client", element.Subject);
        Assert.Equal("http://testclient.lyft.com", element.Uri);

        result = Xfcc.Parse("By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash=9ba61d6425303443c0748a02dd8de688468ed33be74eee6556d90c0149c1309e;URI=http://frontend.lyft.com");
        Assert.True(result.Success, result.Error);
        Assert.Equal(2, result.Elements.Count);
        Assert.Equal("http://backend.lyft.com", result.Nearest!.By);
        Assert.Equal("http://frontend.lyft.com", result.Nearest.Uri);

        result = Xfcc.Parse("By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com");
        Assert.True(result.Success, result.Error);
        Assert.Equal(["lyft.com", "www.lyft.com"], result.Elements[0].Dns);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("with,comma")]
    [InlineData("with;semicolon")]
    [InlineData("with=equals")]
    [InlineData("with \"quotes\" inside")]
    [InlineData("back\\slash")]
    [InlineData(" leading space")]
    [InlineData("")]
    [InlineData("CN=a\\, b,O=\"x;y\"")]
    public void Round_trips_values_that_need_escaping(string subject)
    {
        var element = new XfccElement { By = "spiffe://td/by", Hash = "ab", Subject = subject, Uris = ["spiffe://td/a"], Dns = ["a.example"] };
        var header = Xfcc.Append(Xfcc.Format(element with { By = "spiffe://td/first" }), element);
        var result = Xfcc.Parse(header);
        Assert.True(result.Success, result.Error);
        Assert.Equal(2, result.Elements.Count);
        Assert.Equal(subject, result.Nearest!.Subject);
        Assert.Equal("spiffe://td/by", result.Nearest.By);
        Assert.Equal("spiffe://td/a", result.Nearest.Uri);
        Assert.Equal("spiffe://td/first", result.Elements[0].By);
        Assert.Equal(header, Xfcc.Format(result.Elements));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("By")]
    [InlineData("=x")]
    [InlineData("By=\"unterminated")]
    [InlineData("By=\"a\"b")]
    [InlineData("By=a=b")]
    [InlineData("By=a\"b")]
    [InlineData("By=a;By=b")]
    [InlineData("By=a,")]
    [InlineData("By=a;;Hash=b")]
    public void Rejects_malformed_headers(string header)
    {
        var result = Xfcc.Parse(header);
        Assert.False(result.Success);
        Assert.Empty(result.Elements);
    }

    [Fact]
    public void Several_uris_make_uri_ambiguous()
    {
        var result = Xfcc.Parse("URI=spiffe://td/a;URI=spiffe://td/b");
        Assert.True(result.Success, result.Error);
        Assert.Null(result.Nearest!.Uri);
        Assert.Equal(2, result.Nearest.Uris.Count);
    }

    [Fact]
    public void Rejects_oversized_headers()
        => Assert.False(Xfcc.Parse("URI=" + new string('a', Xfcc.MaxHeaderLength)).Success);
}
