using Gatehouse.Tokens.Jwks;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// JWK Set parsing (<see cref="JwksParser"/>). Invariants: never throws; either a key set or an error, never both
/// or neither; every key kept has a usable algorithm family and unique kid.
/// </summary>
internal sealed class JwksTarget : FuzzTarget
{
    public override string Name => "jwks";

    public override string Description => "JWK Set parse: never throws; a key set xor an error; kids unique";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var set = JwksParser.Parse(input, static (_, _) => { }, out var error);
        Check((set is null) != (error is null), "JWKS parse must give a key set or an error, exactly one");
        if (set is null)
        {
            return;
        }

        var kids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in set.Keys)
        {
            Check(key.Kid is null || kids.Add(key.Kid), $"duplicate kid '{key.Kid}' kept");
        }
    }
}
