using System.Globalization;
using Gatehouse.Fuzz;
using SharpFuzz;

// eng/fuzz.sh drives this program:
//   Gatehouse.Fuzz --list                  the targets, one per line
//   Gatehouse.Fuzz TARGET                  run under afl-fuzz (SharpFuzz's in-process persistent loop)
//   Gatehouse.Fuzz TARGET --replay PATH…   run files (or every file of folders) once each, outside AFL: reproduce a crash
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: Gatehouse.Fuzz --list | TARGET [--replay PATH...]");
    return 2;
}

if (args[0] == "--list")
{
    foreach (var t in FuzzTargets.All)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t.Name}\t{t.Description}"));
    }

    return 0;
}

var target = FuzzTargets.Find(args[0]);
if (target is null)
{
    Console.Error.WriteLine($"unknown target '{args[0]}'; --list names them");
    return 2;
}

if (args.Length > 1 && args[1] == "--replay")
{
    // Instrumented assemblies (eng/fuzz.sh's build) write every edge into SharpFuzz's trace map, which only afl-fuzz
    // provides; outside it, give them a private one, or the first instrumented branch writes through a null pointer.
    ReplayTraceMap.Attach();
    var failures = 0;
    var runs = 0;
    foreach (var file in args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]))
    {
        runs++;
        try
        {
            target.Run(File.ReadAllBytes(file));
        }
#pragma warning disable CA1031 // Replay reports every failure, whatever its type, and goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failures++;
            Console.Error.WriteLine($"{file}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{runs} inputs, {failures} failures"));
    return failures == 0 ? 0 : 1;
}

Fuzzer.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;

/// <summary>A private SharpFuzz trace map for replays outside afl-fuzz (the map's content is not used).</summary>
internal static class ReplayTraceMap
{
    private const int MapSize = 1 << 22; // AFL++'s largest map, at least what the instrumented code indexes.

    public static unsafe void Attach()
    {
        if (SharpFuzz.Common.Trace.SharedMem == null)
        {
            SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(MapSize);
        }
    }
}
