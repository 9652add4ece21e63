using Gatehouse.Cli.Demo;

namespace Gatehouse.Tests.Cli;

/// <summary>`gatehouse demo --once`: the newcomer's first command runs the whole tour and every step behaves.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task DemoOnce_RunsEveryStep_AndExitsZero()
    {
        var output = new StringWriter();
        var dir = new DirectoryInfo(CliRunner.TempDirectory());

        var exit = await DemoCommand.RunAsync(once: true, dir, output, CancellationToken.None);

        var text = output.ToString();
        Assert.True(exit == 0, text);
        Assert.DoesNotContain("FAIL", text, StringComparison.Ordinal);
        Assert.Contains("PASS  1.", text, StringComparison.Ordinal);
        Assert.Contains("steps behaved as expected", text, StringComparison.Ordinal);
        // The service-to-service hop: payments saw the exchanged token (RFC 8693) naming orders as actor.
        Assert.Contains("payments saw sub=writer aud=payments act.sub=orders", text, StringComparison.Ordinal);
        Assert.Contains("Denied actor", text, StringComparison.Ordinal);
        // The tour's decisions were audited, without tokens.
        var audit = await File.ReadAllTextAsync(Path.Combine(dir.FullName, "audit.jsonl"));
        Assert.Contains("\"token.expired\"", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DemoOnce_AsAProcess_ExitsZero()
    {
        var result = await CliRunner.RunAsync(TimeSpan.FromMinutes(2), "demo", "--once", "--dir", CliRunner.TempDirectory());

        Assert.True(result.ExitCode == 0, result.StdOut + result.StdErr);
    }
}
