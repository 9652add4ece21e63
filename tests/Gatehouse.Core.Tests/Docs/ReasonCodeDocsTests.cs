using System.Reflection;
using System.Text.RegularExpressions;
using Gatehouse.Decisions;
using Gatehouse.Identity.Certificates;
using Gatehouse.Model;
using Gatehouse.Tests.Audit;
using Gatehouse.Tokens;

namespace Gatehouse.Tests.Docs;

/// <summary>
/// docs/errors.md is the contract scripts and dashboards rely on: every reason code Gatehouse can produce is listed
/// there, and every code listed there is one Gatehouse defines. docs/mtls.md lists every certificate failure detail.
/// </summary>
public sealed partial class ReasonCodeDocsTests
{
    [GeneratedRegex(@"^\| `([a-z_]+\.[a-z_]+)(?::<[^>]+>)?`", RegexOptions.Multiline)]
    private static partial Regex DocumentedCode();

    private static IEnumerable<string> Constants(Type type) => type
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!);

    private static HashSet<string> DefinedCodes() => [.. Constants(typeof(ReasonCodes))];

    [Fact]
    public void EveryReasonCode_IsDocumentedInErrorsMd()
    {
        var documented = DocumentedCode().Matches(File.ReadAllText(RepoPaths.Of("docs", "errors.md"))).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.Empty(DefinedCodes().Except(documented).Order());
    }

    [Fact]
    public void EveryCodeInErrorsMd_IsDefined()
    {
        var documented = DocumentedCode().Matches(File.ReadAllText(RepoPaths.Of("docs", "errors.md"))).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.NotEmpty(documented);
        Assert.Empty(documented.Except(DefinedCodes()).Order());
    }

    [Fact]
    public void EveryPeerCertificateFailure_IsDocumentedInMtlsMd()
    {
        var mtls = File.ReadAllText(RepoPaths.Of("docs", "mtls.md"));

        Assert.Empty(Constants(typeof(PeerCertificateFailures)).Where(detail => !mtls.Contains(":" + detail, StringComparison.Ordinal)).Order());
    }
}
