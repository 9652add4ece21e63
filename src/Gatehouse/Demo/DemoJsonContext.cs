using System.Text.Json.Serialization;

namespace Gatehouse.Cli.Demo;

/// <summary>
/// Source-generated JSON metadata for the demo's bodies (the dev issuer's token responses, the sample upstream's
/// echo). Note: the serializer then needs no reflection, so the executable also publishes trimmed / Native AOT
/// (docs/performance.md). Every runtime type stored in an <c>object</c> slot must be listed here.
/// </summary>
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(bool))]
internal sealed partial class DemoJsonContext : JsonSerializerContext;
