using System.Text.Json;

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
        var options = new JsonReaderOptions { MaxDepth = maxDepth, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false };
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

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
