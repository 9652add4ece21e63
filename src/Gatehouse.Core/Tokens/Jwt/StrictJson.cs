using System.Text.Json;
using System.Text.Unicode;

namespace Gatehouse.Tokens.Jwt;

/// <summary>
/// Parses a JSON object strictly: RFC 8259 only (no comments, no trailing commas), a depth limit, and duplicate
/// member names rejected at every level (RFC 7515 §4 / RFC 7519 §4: a JWS/JWT with duplicate names must be rejected
/// or use the lexically last; RFC 8725 §3.1 recommends rejecting). Names are compared after unescaping.
/// </summary>
internal static class StrictJson
{
    public const int DefaultMaxDepth = 32;

    public enum Error
    {
        None,
        Malformed,
        NotAnObject,
        DuplicateMember,
    }

    /// <summary>Validates and returns an independent (cloned) root element.</summary>
    public static Error TryParseObject(ReadOnlySpan<byte> utf8, int maxDepth, out JsonElement root, out string? detail)
    {
        root = default;
        detail = null;
        var options = ReaderOptions(maxDepth);
        try
        {
            var reader = new Utf8JsonReader(utf8, options);
            var scopes = new Stack<HashSet<string>?>();
            var first = true;
            while (reader.Read())
            {
                if (first && reader.TokenType != JsonTokenType.StartObject)
                {
                    return Error.NotAnObject;
                }

                first = false;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        scopes.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.StartArray:
                        scopes.Push(null);
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        scopes.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.GetString()!;
                        if (!scopes.Peek()!.Add(name))
                        {
                            detail = $"duplicate member name \"{Truncate(name)}\"";
                            return Error.DuplicateMember;
                        }

                        break;
                    case JsonTokenType.String:
                        // Note: GetString validates the UTF-8 of every string value (Read does not).
                        _ = reader.GetString();
                        break;
                }
            }

            if (first)
            {
                return Error.NotAnObject;
            }

            var second = new Utf8JsonReader(utf8, options);
            root = JsonElement.ParseValue(ref second);
            return Error.None;
        }
        catch (JsonException ex)
        {
            detail = ex.Message;
            return Error.Malformed;
        }
        catch (InvalidOperationException ex)
        {
            detail = ex.Message;
            return Error.Malformed;
        }
    }

    /// <summary>RFC 8259 only: no comments, no trailing commas, at most <paramref name="maxDepth"/> levels.</summary>
    public static JsonReaderOptions ReaderOptions(int maxDepth) =>
        new() { MaxDepth = maxDepth, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false };

    /// <summary>
    /// The UTF-8 check <see cref="TryParseObject"/> makes with <c>GetString</c>, for the string the reader is on:
    /// without allocating when it holds no escapes (the common case). Throws as <c>GetString</c> does for a bad
    /// escape.
    /// </summary>
    public static bool IsValidString(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            _ = reader.GetString();
            return true;
        }

        return Utf8.IsValid(reader.ValueSpan);
    }

    /// <summary>
    /// Duplicate member names per object without a set per object, for single-pass readers: names are compared
    /// byte-wise against earlier names of the same object, which is exact only for names without escapes; an
    /// escaped name, or more than <see cref="MaxNames"/> names, is refused (the caller then uses
    /// <see cref="TryParseObject"/>, which compares unescaped names).
    /// </summary>
    public static class NameTracker
    {
        public const int MaxNames = 128;

        // State layout (a caller's stackalloc, zeroed): [object id per depth (maxDepth + 1)] [name count, last
        // object id] [(object id, start, length) per name].
        public static int IntsFor(int maxDepth) => maxDepth + 1 + 2 + (3 * MaxNames);

        /// <summary>A new object starts at <paramref name="depth"/> (the reader's depth of its StartObject).</summary>
        public static void EnterObject(Span<int> state, int depth)
        {
            var header = Header(state);
            state[depth] = ++state[header + 1];
        }

        /// <summary>Records the property name the reader is on; false when it is a duplicate or cannot be checked here.</summary>
        public static bool Add(scoped Span<int> state, ref Utf8JsonReader reader, scoped ReadOnlySpan<byte> utf8)
        {
            var header = Header(state);
            var count = state[header];
            if (reader.ValueIsEscaped || reader.HasValueSequence || count == MaxNames || !Utf8.IsValid(reader.ValueSpan))
            {
                return false;
            }

            var name = reader.ValueSpan;
            var owner = state[reader.CurrentDepth - 1];
            var names = state[(header + 2)..];
            for (var i = 0; i < count; i++)
            {
                if (names[3 * i] == owner && names[(3 * i) + 2] == name.Length && utf8.Slice(names[(3 * i) + 1], name.Length).SequenceEqual(name))
                {
                    return false;
                }
            }

            names[3 * count] = owner;
            names[(3 * count) + 1] = (int)reader.TokenStartIndex + 1;
            names[(3 * count) + 2] = name.Length;
            state[header] = count + 1;
            return true;
        }

        private static int Header(Span<int> state) => state.Length - 2 - (3 * MaxNames);
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
