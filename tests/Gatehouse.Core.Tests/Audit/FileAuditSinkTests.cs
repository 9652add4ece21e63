using System.Text;
using Gatehouse.Audit;

namespace Gatehouse.Tests.Audit;

public sealed class FileAuditSinkTests : IDisposable
{
    private readonly DirectoryInfo _dir = new DirectoryInfo(Gatehouse.Testing.TestTemp.CreateDirectory("audit-"));

    public void Dispose() => _dir.Delete(recursive: true);

    private static ReadOnlyMemory<byte> Line(int i) => Encoding.UTF8.GetBytes($"{{\"n\":{i:D4}}}\n"); // 11 bytes

    [Fact]
    public async Task Write_RotatesBySizeAndKeepsMaxFiles()
    {
        var path = Path.Combine(_dir.FullName, "audit.jsonl");
        await using (var sink = new FileAuditSink(path, maxFileBytes: 33, maxFiles: 2))
        {
            for (var i = 0; i < 12; i++)
            {
                await sink.WriteAsync(Line(i), default);
            }

            await sink.FlushAsync(default);
        }

        // 3 lines (33 bytes) per file: 0-2, 3-5, 6-8 (deleted), 9-11 active.
        Assert.Equal(["{\"n\":0009}", "{\"n\":0010}", "{\"n\":0011}"], File.ReadAllLines(path));
        Assert.Equal(["{\"n\":0006}", "{\"n\":0007}", "{\"n\":0008}"], File.ReadAllLines(path + ".1"));
        Assert.Equal(["{\"n\":0003}", "{\"n\":0004}", "{\"n\":0005}"], File.ReadAllLines(path + ".2"));
        Assert.False(File.Exists(path + ".3"));
        Assert.Equal(3, _dir.GetFiles().Length);
    }

    [Fact]
    public async Task Write_NeverSplitsALineAndAcceptsALineLargerThanTheLimit()
    {
        var path = Path.Combine(_dir.FullName, "audit.jsonl");
        await using (var sink = new FileAuditSink(path, maxFileBytes: 5, maxFiles: 1))
        {
            await sink.WriteAsync(Line(1), default);
            await sink.WriteAsync(Line(2), default);
        }

        Assert.Equal(["{\"n\":0002}"], File.ReadAllLines(path));
        Assert.Equal(["{\"n\":0001}"], File.ReadAllLines(path + ".1"));
    }

    [Fact]
    public async Task Write_ContinuesAnExistingFileAndCountsItsSize()
    {
        var path = Path.Combine(_dir.FullName, "sub", "audit.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, "{\"n\":0000}\n{\"n\":0001}\n");
        await using (var sink = new FileAuditSink(path, maxFileBytes: 33, maxFiles: 3))
        {
            await sink.WriteAsync(Line(2), default);
            await sink.WriteAsync(Line(3), default);
        }

        Assert.Equal(3, File.ReadAllLines(path + ".1").Length);
        Assert.Equal(["{\"n\":0003}"], File.ReadAllLines(path));
    }

    [Fact]
    public async Task Write_WithZeroMaxFiles_KeepsOnlyTheActiveFile()
    {
        var path = Path.Combine(_dir.FullName, "audit.jsonl");
        await using (var sink = new FileAuditSink(path, maxFileBytes: 11, maxFiles: 0))
        {
            await sink.WriteAsync(Line(1), default);
            await sink.WriteAsync(Line(2), default);
        }

        Assert.Equal(["{\"n\":0002}"], File.ReadAllLines(path));
        Assert.Single(_dir.GetFiles());
    }
}
