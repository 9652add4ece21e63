using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Routing;

namespace Gatehouse.Tests.Routing;

public sealed class PathNormalizerTests
{
    private static readonly PathNormalizationConfig Defaults = new();

    public static TheoryData<string, string, string> Normalized => new()
    {
        { "already normal", "/orders/42", "/orders/42" },
        { "root", "/", "/" },
        { "trailing slash kept", "/orders/", "/orders/" },
        { "unreserved letters decoded", "/%6Frders", "/orders" },
        { "unreserved digit, dash, tilde decoded", "/a%31%2D%7E", "/a1-~" },
        { "reserved escape kept, hex upper-cased", "/a%3a%40", "/a%3A%40" },
        { "non-ASCII UTF-8 escape kept", "/caf%c3%a9", "/caf%C3%A9" },
        { "dot segment", "/a/./b", "/a/b" },
        { "dot-dot segment", "/a/b/../c", "/a/c" },
        { "trailing dot-dot", "/a/b/..", "/a/" },
        { "trailing dot", "/a/.", "/a/" },
        { "dot-dot to root", "/a/..", "/" },
        { "encoded dots are dot segments (%2e%2e)", "/public/%2e%2e/admin", "/admin" },
        { "mixed-case encoded dots", "/public/%2E%2e/admin", "/admin" },
        { "half-encoded dots", "/public/.%2e/admin", "/admin" },
        { "merged slashes", "//admin//users", "/admin/users" },
        { "slashes merged before dot segments (as nginx)", "/a//../b", "/b" },
        { "dot in a name is not a segment", "/.well-known/jwks.json", "/.well-known/jwks.json" },
        { "three dots is a name", "/a/.../b", "/a/.../b" },
        { "case is preserved by default", "/ADMIN", "/ADMIN" },
        { "sub-delims kept", "/a!$&'()*+,=:@", "/a!$&'()*+,=:@" },
    };

    [Theory]
    [MemberData(nameof(Normalized))]
    public void Normalizes(string name, string raw, string expected)
    {
        var result = PathNormalizer.Normalize(raw, Defaults);
        Assert.True(result.Ok, $"{name}: {result.Detail}");
        Assert.Equal(expected, result.Path);
    }

    public static TheoryData<string, string, string> Rejected => new()
    {
        // Envoy / Istio advisory bypass classes.
        { "encoded slash %2F (CVE-2021-29492)", "/public%2F..%2Fadmin", ReasonCodes.PathAmbiguous },
        { "encoded slash lower-case %2f", "/admin%2fusers", ReasonCodes.PathAmbiguous },
        { "encoded backslash %5C", "/public%5C..%5Cadmin", ReasonCodes.PathAmbiguous },
        { "encoded semicolon %3B", "/admin%3B/x", ReasonCodes.PathAmbiguous },
        { "Tomcat dot-dot with parameters", "/public/..;/admin", ReasonCodes.PathAmbiguous },
        { "Tomcat dot with parameters", "/public/.;x=1/admin", ReasonCodes.PathAmbiguous },
        { "encoded Tomcat dot-dot with parameters", "/public/%2e%2e;/admin", ReasonCodes.PathAmbiguous },
        { "raw backslash", "/public\\..\\admin", ReasonCodes.PathInvalid },
        { "fragment", "/admin#frag", ReasonCodes.PathInvalid },
        { "encoded NUL", "/admin%00.json", ReasonCodes.PathInvalid },
        { "raw NUL", "/admin\0", ReasonCodes.PathInvalid },
        { "encoded control char", "/admin%0d%0aX: y", ReasonCodes.PathInvalid },
        { "raw space", "/a b", ReasonCodes.PathInvalid },
        { "raw DEL", "/a\x7f", ReasonCodes.PathInvalid },
        { "raw non-ASCII", "/café", ReasonCodes.PathInvalid },
        { "dot-dot above root", "/../etc/passwd", ReasonCodes.PathInvalid },
        { "encoded dot-dot above root", "/%2e%2e/etc/passwd", ReasonCodes.PathInvalid },
        { "dot-dot above root later", "/a/../../b", ReasonCodes.PathInvalid },
        { "malformed escape", "/a%zz", ReasonCodes.PathInvalid },
        { "truncated escape", "/a%2", ReasonCodes.PathInvalid },
        { "relative path", "admin", ReasonCodes.PathInvalid },
        { "empty path", "", ReasonCodes.PathInvalid },
        { "query in path", "/a?b=c", ReasonCodes.PathInvalid },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Rejects(string name, string raw, string reason)
    {
        var result = PathNormalizer.Normalize(raw, Defaults);
        Assert.False(result.Ok, name);
        Assert.Equal(reason, result.Reason);
        Assert.False(string.IsNullOrEmpty(result.Detail));
    }

    [Fact]
    public void Keeps_slashes_when_merge_is_off()
    {
        var result = PathNormalizer.Normalize("//a//b/", new PathNormalizationConfig { MergeSlashes = false });
        Assert.Equal("//a//b/", result.Path);
    }

    [Fact]
    public void Dot_dot_after_empty_segment_removes_it_when_merge_is_off()
    {
        var result = PathNormalizer.Normalize("/a//../b", new PathNormalizationConfig { MergeSlashes = false });
        Assert.Equal("/a/b", result.Path);
    }

    [Fact]
    public void Lower_cases_outside_escapes_when_configured()
    {
        var result = PathNormalizer.Normalize("/ADMIN/%4Frders/%C3%A9", new PathNormalizationConfig { LowercasePaths = true });
        Assert.Equal("/admin/orders/%C3%A9", result.Path);
    }

    [Fact]
    public void Keeps_encoded_slash_when_rejection_is_off()
    {
        var result = PathNormalizer.Normalize("/a%2fb/../c", new PathNormalizationConfig { RejectEncodedSlash = false });
        Assert.True(result.Ok);
        Assert.Equal("/c", result.Path); // %2F is data inside the segment "a%2Fb", never a separator
    }

    [Fact]
    public void Returns_the_same_instance_when_already_normal()
    {
        const string path = "/orders/42/items";
        Assert.Same(path, PathNormalizer.Normalize(path, Defaults).Path);
    }

    [Fact]
    public void Normalization_is_idempotent_on_accepted_paths()
    {
        foreach (var row in Normalized)
        {
            var once = PathNormalizer.Normalize((string)row[1], Defaults).Path;
            Assert.Equal(once, PathNormalizer.Normalize(once, Defaults).Path);
        }
    }

    [Fact]
    public void Long_paths_use_the_heap_buffer()
    {
        var raw = "/" + string.Concat(Enumerable.Repeat("a/./", 600));
        var result = PathNormalizer.Normalize(raw, Defaults);
        Assert.True(result.Ok);
        Assert.Equal("/" + string.Concat(Enumerable.Repeat("a/", 600)), result.Path);
    }

    [Fact]
    public void Normal_paths_are_checked_without_allocating()
    {
        const string path = "/orders/42/.well-known/items";
        PathNormalizer.Normalize(path, Defaults);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            PathNormalizer.Normalize(path, Defaults);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Random_paths_never_throw_and_accepted_output_is_canonical()
    {
        // Seeded mutation loop over the characters that matter for bypasses.
        string[] alphabet = ["/", "/", ".", "..", "%2e", "%2E", "%2f", "%5c", "%3b", ";", "a", "A", "%41", "%7e", "%", "%0", "%00", "\\", "#", "~", "%c3%a9", "//"];
        var random = new Random(20261122);
        foreach (var options in new[] { Defaults, new PathNormalizationConfig { MergeSlashes = false, RejectEncodedSlash = false, LowercasePaths = true } })
        {
            for (var i = 0; i < 20_000; i++)
            {
                var raw = "/" + string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => alphabet[random.Next(alphabet.Length)]));
                var result = PathNormalizer.Normalize(raw, options);
                if (!result.Ok)
                {
                    Assert.NotNull(result.Reason);
                    continue;
                }

                var path = result.Path;
                Assert.StartsWith("/", path, StringComparison.Ordinal);
                Assert.Equal(path, PathNormalizer.Normalize(path, options).Path);
                Assert.DoesNotContain("/../", path + "/", StringComparison.Ordinal);
                Assert.DoesNotContain("/./", path + "/", StringComparison.Ordinal);
                Assert.DoesNotContain("%2E", path, StringComparison.Ordinal);
                Assert.DoesNotContain("%41", path, StringComparison.Ordinal);
                if (options.MergeSlashes)
                {
                    Assert.DoesNotContain("//", path, StringComparison.Ordinal);
                }
            }
        }
    }

    [Fact]
    public void PathParameters_AreRefusedByDefault()
    {
        var result = PathNormalizer.Normalize("/admin;jsessionid=1/x", new PathNormalizationConfig());

        Assert.False(result.Ok);
        Assert.Equal(Gatehouse.Model.ReasonCodes.PathAmbiguous, result.Reason);
    }

    [Fact]
    public void PathParameters_AreOrdinaryCharacters_WhenAllowed()
    {
        var result = PathNormalizer.Normalize("/admin;jsessionid=1/x", new PathNormalizationConfig { AllowPathParameters = true });

        Assert.True(result.Ok);
        Assert.Equal("/admin;jsessionid=1/x", result.Path);
    }
}
