namespace Gatehouse.Policy;

/// <summary>
/// Istio string match: <c>*</c> alone (presence: any non-empty value), <c>abc*</c> (prefix), <c>*abc</c> (suffix),
/// otherwise exact. A <c>*</c> anywhere else makes the pattern invalid (Istio accepts nothing else).
/// </summary>
internal readonly struct StringMatcher
{
    private readonly StringMatchKind _kind;
    private readonly string _value;
    private readonly StringComparison _comparison;

    private StringMatcher(StringMatchKind kind, string value, StringComparison comparison)
    {
        _kind = kind;
        _value = value;
        _comparison = comparison;
    }

    public StringMatchKind Kind => _kind;

    /// <summary>The literal part (without <c>*</c>).</summary>
    public string Value => _value;

    public static bool TryCreate(string pattern, StringComparison comparison, out StringMatcher matcher, out string? error)
    {
        error = null;
        if (pattern is null || pattern.Length == 0)
        {
            matcher = default;
            error = "empty value";
            return false;
        }

        if (pattern == "*")
        {
            matcher = new StringMatcher(StringMatchKind.Presence, "", comparison);
            return true;
        }

        var star = pattern.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            matcher = new StringMatcher(StringMatchKind.Exact, pattern, comparison);
            return true;
        }

        if (star == pattern.Length - 1 && pattern.IndexOf('*', 0, star) < 0)
        {
            matcher = new StringMatcher(StringMatchKind.Prefix, pattern[..^1], comparison);
            return true;
        }

        if (star == 0 && pattern.IndexOf('*', 1) < 0)
        {
            matcher = new StringMatcher(StringMatchKind.Suffix, pattern[1..], comparison);
            return true;
        }

        matcher = default;
        error = $"'{pattern}': '*' is allowed only alone, as a prefix or as a suffix";
        return false;
    }

    public bool IsMatch(ReadOnlySpan<char> value) => _kind switch
    {
        StringMatchKind.Presence => !value.IsEmpty,
        StringMatchKind.Exact => value.Equals(_value, _comparison),
        StringMatchKind.Prefix => value.StartsWith(_value, _comparison),
        StringMatchKind.Suffix => value.EndsWith(_value, _comparison),
        _ => false,
    };
}

internal enum StringMatchKind
{
    Exact,
    Prefix,
    Suffix,
    Presence,
}
