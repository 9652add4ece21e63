using System.Text;
using Gatehouse.Configuration;
using Gatehouse.Routing;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// Path normalization (<see cref="PathNormalizer"/>) under every option combination. Invariants: never throws;
/// idempotent (normalizing the result again gives it back unchanged); a normalized path starts with <c>/</c>, has no
/// <c>.</c> or <c>..</c> segment (raw or encoded), no <c>\</c>, no NUL or control character (raw or encoded), and,
/// unless configured otherwise, no encoded <c>/</c> or <c>\</c>; refusals carry a reason.
/// </summary>
internal sealed class PathTarget : FuzzTarget
{
    private static readonly PathNormalizationConfig[] Options =
    [
        new(),
        new() { MergeSlashes = false },
        new() { LowercasePaths = true },
        new() { RejectEncodedSlash = false, AllowPathParameters = true },
        new() { MergeSlashes = false, LowercasePaths = true, RejectEncodedSlash = false, AllowPathParameters = true },
    ];

    public override string Name => "path";

    public override string Description => "path normalization: idempotent; no dot segments, backslash, NUL/controls or (by default) encoded slashes";

    public override void Run(ReadOnlySpan<byte> input)
    {
        // Latin-1 keeps every byte as one char, so raw bytes ≥ 0x80 and controls reach the normalizer as a host could pass them.
        var raw = Encoding.Latin1.GetString(input);
        foreach (var options in Options)
        {
            CheckOne(raw, options);
        }
    }

    public static void CheckOne(string raw, PathNormalizationConfig options)
    {
        var result = PathNormalizer.Normalize(raw, options);
        if (!result.Ok)
        {
            Check(result.Reason is not null && result.Path.Length == 0, "a refusal must carry a reason and no path");
            return;
        }

        var path = result.Path;
        Check(path.StartsWith('/'), "normalized path must start with '/'");
        var again = PathNormalizer.Normalize(path, options);
        Check(again.Ok && string.Equals(again.Path, path, StringComparison.Ordinal), $"not idempotent: '{path}' → '{(again.Ok ? again.Path : again.Reason)}'");
        foreach (var segment in path.Split('/'))
        {
            var decoded = segment.Replace("%2E", ".", StringComparison.OrdinalIgnoreCase);
            var bare = options.AllowPathParameters ? decoded.Split(';')[0] : decoded;
            Check(decoded is not ("." or "..") && bare is not ("." or ".."), $"dot segment left in '{path}'");
        }

        Check(!path.Contains('\\', StringComparison.Ordinal), "backslash in normalized path");
        Check(!path.Contains("%00", StringComparison.Ordinal), "encoded NUL in normalized path");
        foreach (var c in path)
        {
            Check(c is >= '!' and <= '~', $"character 0x{(int)c:X2} in normalized path");
        }

        if (options.RejectEncodedSlash)
        {
            Check(!path.Contains("%2F", StringComparison.OrdinalIgnoreCase) && !path.Contains("%5C", StringComparison.OrdinalIgnoreCase), "encoded slash kept");
        }

        if (options.MergeSlashes)
        {
            Check(!path.Contains("//", StringComparison.Ordinal), "repeated slashes kept with merge_slashes");
        }
    }
}
