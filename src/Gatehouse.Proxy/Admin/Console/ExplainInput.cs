using System.Text.Json;

namespace Gatehouse.Proxy.Admin.Console;

/// <summary>
/// The explain form's body: <c>{"request": "GET https://…", "token": "…", "peer": "spiffe://…", "source": "10.0.0.1",
/// "listener": "edge", "headers": {"name": "value"}}</c>; only <c>request</c> is required.
/// </summary>
internal sealed record ExplainInput(string Request, string? Token, string? Peer, string? Source, string? Listener, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>The input, or null when the body is not an object with a <c>request</c> string. Throws <see cref="JsonException"/> on malformed JSON.</summary>
    public static ExplainInput? Parse(byte[] body)
    {
        using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || String(root, "request") is not { Length: > 0 } request)
        {
            return null;
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (root.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in h.EnumerateObject())
            {
                if (header.Value.ValueKind == JsonValueKind.String && header.Name.Length > 0)
                {
                    headers[header.Name] = header.Value.GetString()!;
                }
            }
        }

        return new ExplainInput(request, Blank(String(root, "token")), Blank(String(root, "peer")), Blank(String(root, "source")), Blank(String(root, "listener")), headers);
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
