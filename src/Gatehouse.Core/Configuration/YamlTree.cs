using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gatehouse.Configuration;

// Note: YamlDotNet's YamlStream throws on the first duplicate key, which would hide every later error. This small
// tree is built from the parser's events instead: it keeps every node's position, keeps duplicate keys (so the
// binder can report each one), and can be edited by environment overrides before binding.

/// <summary>A YAML node with its 1-based source position.</summary>
internal abstract class YNode
{
    public int Line { get; set; }
    public int Column { get; set; }

    /// <summary>The environment variable that replaced or created this node, if any (reported with its errors).</summary>
    public string? OverriddenBy { get; set; }

    public abstract string KindName { get; }
}

internal sealed class YScalar : YNode
{
    public string Value { get; set; } = "";

    /// <summary>Plain (unquoted, untagged) scalars are resolved as bool/int/null; quoted ones are always strings.</summary>
    public bool IsPlain { get; set; } = true;

    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string KindName => IsNull ? "null" : "a scalar";
}

internal sealed class YSequence : YNode
{
    public List<YNode> Items { get; } = [];

    public override string KindName => "a list";
}

internal sealed class YMapping : YNode
{
    /// <summary>Entries in document order, duplicates included.</summary>
    public List<KeyValuePair<YScalar, YNode>> Entries { get; } = [];

    public override string KindName => "a mapping";
}

/// <summary>Reads YAML text into a <see cref="YNode"/> tree, turning every syntax problem into an error value.</summary>
internal static partial class YamlTreeReader
{
    internal readonly record struct RawError(int Line, int Column, string Message);

    public static YNode? Read(string yaml, List<RawError> errors)
    {
        // Note: YAML forbids tabs in indentation; the parser's own message for them is cryptic and names only the
        // first, so every such line is reported here, and a parser error on one of these lines is not repeated.
        var tabLines = new HashSet<int>();
        var lineNumber = 0;
        foreach (var line in yaml.Split('\n'))
        {
            lineNumber++;
            for (var i = 0; i < line.Length && (line[i] == ' ' || line[i] == '\t'); i++)
            {
                if (line[i] == '\t')
                {
                    tabLines.Add(lineNumber);
                    errors.Add(new RawError(lineNumber, i + 1, "tab character in indentation; YAML indentation must use spaces"));
                    break;
                }
            }
        }

        var parser = new Parser(new StringReader(yaml));
        var state = new ReaderState();
        try
        {
            parser.Consume<StreamStart>();
            YNode? root = null;
            var documents = 0;
            while (TryConsume<DocumentStart>(parser, state, out var documentStart))
            {
                documents++;
                var node = ReadNode(parser, state);
                parser.Consume<DocumentEnd>();
                if (documents == 1)
                {
                    root = node;
                }
                else
                {
                    errors.Add(new RawError(Line(documentStart.Start), Column(documentStart.Start),
                        "a config file holds exactly one YAML document; remove the extra '---' document"));
                }
            }

            parser.Consume<StreamEnd>();
            return root;
        }
        catch (YamlException ex)
        {
            var line = Line(ex.Start);
            var message = CleanMessage(ex);
            if (tabLines.Count == 0 || (!tabLines.Contains(line) && !message.Contains("tab", StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add(new RawError(line, Column(ex.Start), "YAML syntax error: " + message));
            }

            return null;
        }
        catch (InvalidOperationException)
        {
            // Note: YamlDotNet's scanner throws this (not a YamlException) on some malformed flow collections;
            // the best position is the end of the last well-formed event.
            if (tabLines.Count == 0)
            {
                errors.Add(new RawError(Line(state.LastEnd), Column(state.LastEnd),
                    "YAML syntax error: malformed document after this point (unclosed '{', '[' or quote?)"));
            }

            return null;
        }
        catch (ArgumentException ex)
        {
            // Note: YamlDotNet's scanner throws this (not a YamlException) on a tag that is not a valid URI, e.g.
            // "!!!!+8" (found by the `config` fuzz target, fuzz/regressions/config/tag-not-a-uri).
            errors.Add(new RawError(Line(state.LastEnd), Column(state.LastEnd), "YAML syntax error: " + ex.Message.Split(" (Parameter", 2)[0] + " (after this point)"));
            return null;
        }
    }

    private sealed class ReaderState
    {
        public Dictionary<string, YNode> Anchors { get; } = new(StringComparer.Ordinal);

        public Mark LastEnd { get; set; } = Mark.Empty;
    }

    private static bool TryConsume<T>(IParser parser, ReaderState state, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? parsingEvent)
        where T : ParsingEvent
    {
        if (parser.Accept<T>(out var accepted))
        {
            parser.MoveNext();
            state.LastEnd = accepted.End;
            parsingEvent = accepted;
            return true;
        }

        parsingEvent = null;
        return false;
    }

    private static YNode ReadNode(IParser parser, ReaderState state)
    {
        if (TryConsume<AnchorAlias>(parser, state, out var alias))
        {
            if (state.Anchors.TryGetValue(alias.Value.Value, out var target))
            {
                return target;
            }

            throw new YamlException(alias.Start, alias.End, $"unknown alias '*{alias.Value.Value}'");
        }

        YNode node;
        AnchorName anchor;
        if (TryConsume<Scalar>(parser, state, out var scalar))
        {
            node = new YScalar
            {
                Value = scalar.Value,
                IsPlain = scalar.Style == ScalarStyle.Plain && (scalar.Tag.IsEmpty || scalar.Tag.Value == "!"),
                Line = Line(scalar.Start),
                Column = Column(scalar.Start),
            };
            if (!scalar.Tag.IsEmpty && scalar.Tag.Value is not ("!" or "tag:yaml.org,2002:str"))
            {
                // Note: explicit tags are rare in config files; anything but !!str keeps plain resolution.
                ((YScalar)node).IsPlain = scalar.Style == ScalarStyle.Plain;
            }

            anchor = scalar.Anchor;
        }
        else if (TryConsume<SequenceStart>(parser, state, out var sequenceStart))
        {
            var sequence = new YSequence { Line = Line(sequenceStart.Start), Column = Column(sequenceStart.Start) };
            anchor = sequenceStart.Anchor;
            while (!TryConsume<SequenceEnd>(parser, state, out _))
            {
                sequence.Items.Add(ReadNode(parser, state));
            }

            node = sequence;
        }
        else if (TryConsume<MappingStart>(parser, state, out var mappingStart))
        {
            var mapping = new YMapping { Line = Line(mappingStart.Start), Column = Column(mappingStart.Start) };
            anchor = mappingStart.Anchor;
            while (!TryConsume<MappingEnd>(parser, state, out _))
            {
                var keyStart = parser.Current!.Start;
                var key = ReadNode(parser, state);
                var value = ReadNode(parser, state);
                if (key is not YScalar keyScalar)
                {
                    throw new YamlException(keyStart, keyStart, "mapping keys must be plain strings");
                }

                mapping.Entries.Add(new(keyScalar, value));
            }

            node = mapping;
        }
        else
        {
            var current = parser.Current!;
            throw new YamlException(current.Start, current.End, $"unexpected {current.GetType().Name}");
        }

        if (!anchor.IsEmpty)
        {
            state.Anchors[anchor.Value] = node;
        }

        return node;
    }

    // Note: YamlDotNet marks are 1-based; clamp so a zeroed mark (end of stream) still yields a valid position.
    private static int Line(Mark mark) => Math.Max(1, (int)mark.Line);

    private static int Column(Mark mark) => Math.Max(1, (int)mark.Column);

    private static string CleanMessage(YamlException ex)
    {
        var message = LocationPrefix().Replace(ex.Message, "");
        if (ex.InnerException is { } inner && message.Length == 0)
        {
            message = inner.Message;
        }

        return message.Trim();
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex LocationPrefix();
}
