using System.Text;
using Gatehouse.Identity.Certificates;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// <c>x-forwarded-client-cert</c> parsing and formatting (<see cref="Xfcc"/>). Invariants: parsing never throws and
/// gives elements xor an error; every parsed element formats back to text that parses to the same element (what
/// Gatehouse forwards means what it read); formatted text holds no control character (it becomes a header value).
/// </summary>
internal sealed class XfccTarget : FuzzTarget
{
    public override string Name => "xfcc";

    public override string Description => "XFCC parse/format: never throws; format∘parse round-trips; no control characters out";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var header = Encoding.UTF8.GetString(input);
        var parsed = Xfcc.Parse(header);
        if (!parsed.Success)
        {
            return;
        }

        foreach (var element in parsed.Elements)
        {
            var text = Xfcc.Format(element);
            if (text.Length == 0)
            {
                // An element of unknown keys only carries nothing Gatehouse reads or forwards.
                continue;
            }

            foreach (var c in text)
            {
                Check(!char.IsControl(c), $"control character 0x{(int)c:X2} in a formatted XFCC element");
            }

            var again = Xfcc.Parse(text);
            Check(again.Success && again.Elements.Count == 1, $"formatted element does not parse back: {again.Error}");
            var back = again.Elements[0];
            Check(back.By == element.By && back.Hash == element.Hash && back.Cert == element.Cert && back.Chain == element.Chain
                && back.Subject == element.Subject && back.Uris.SequenceEqual(element.Uris) && back.Dns.SequenceEqual(element.Dns),
                "format∘parse changed an element");
        }
    }
}
