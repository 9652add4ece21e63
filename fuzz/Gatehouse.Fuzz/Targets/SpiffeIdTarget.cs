using System.Text;
using Gatehouse.Identity.Spiffe;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// SPIFFE ID parsing (<see cref="SpiffeId"/>). Invariants: never throws; an accepted ID is canonical (its string
/// parses to an equal ID), within the spec's length limits, with a lower-case trust domain and no dot segments.
/// </summary>
internal sealed class SpiffeIdTarget : FuzzTarget
{
    public override string Name => "spiffe";

    public override string Description => "SPIFFE ID parse: never throws; accepted IDs are canonical, bounded, without dot segments";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (!SpiffeId.TryParse(text, out var id, out var error))
        {
            Check(!string.IsNullOrEmpty(error), "a refusal must say why");
            return;
        }

        Check(SpiffeId.TryParse(id.Value, out var again) && again == id, "an accepted ID does not parse back to itself");
        Check(Encoding.UTF8.GetByteCount(id.Value) <= SpiffeId.MaxLength, "ID longer than 2048 bytes accepted");
        Check(id.TrustDomain.Length is > 0 and <= SpiffeId.MaxTrustDomainLength, "trust domain length out of bounds");
        Check(string.Equals(id.TrustDomain, id.TrustDomain.ToLowerInvariant(), StringComparison.Ordinal), "trust domain not lower case");
        foreach (var segment in id.Path.Split('/').Skip(1))
        {
            Check(segment is not ("" or "." or ".."), $"empty or dot segment in accepted path '{id.Path}'");
        }
    }
}
