namespace Gatehouse.Fuzz;

/// <summary>
/// One fuzz target: a parser that faces the network and the invariants it must keep for every input. A target
/// returns normally for every input it accepts or refuses as designed, and throws <see cref="InvariantViolation"/>
/// when an invariant breaks; any other exception escaping it is a crash (a parser must report bad input as a value).
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>The name <c>eng/fuzz.sh</c> and the corpus folder (<c>fuzz/corpus/NAME</c>) use.</summary>
    public abstract string Name { get; }

    /// <summary>One line for <c>eng/fuzz.sh --list</c>: what is parsed and which invariants are checked.</summary>
    public abstract string Description { get; }

    public abstract void Run(ReadOnlySpan<byte> input);

    protected static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvariantViolation(invariant);
        }
    }
}

/// <summary>An invariant of a fuzz target broke: a bug, reported as a crash to the fuzzer.</summary>
internal sealed class InvariantViolation(string message) : Exception(message);
