using Gatehouse.Configuration;

namespace Gatehouse.Routing;

/// <summary>
/// An immutable route index, built once per config snapshot. Selection:
/// <list type="number">
/// <item>Host tier: an exact host (case-insensitive) beats the longest matching <c>*.suffix</c> wildcard, which beats
/// routes with no hosts (or <c>*</c>). When a tier has no route whose path prefix matches, the next tier is tried.</item>
/// <item>Within a tier: the longest <c>path_prefix</c>, segment-aware (<c>/orders</c> matches <c>/orders</c>,
/// <c>/orders/</c> and <c>/orders/x</c>, never <c>/ordersx</c>; a trailing slash on the prefix is ignored).</item>
/// <item>Ties (same tier, same prefix): the first in config order.</item>
/// </list>
/// Cost: one hash lookup per host tier (plus one per label for wildcards) and one per path segment; independent of
/// the number of routes. Paths are compared ordinally (case-sensitive) against the normalized path.
/// </summary>
public sealed class RouteTable<T> where T : class
{
    private readonly Dictionary<string, PrefixTrie> _exactHosts;
    private readonly Dictionary<string, PrefixTrie> _wildcardHosts; // key: ".example.com"
    private readonly Dictionary<string, PrefixTrie>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly Dictionary<string, PrefixTrie>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;
    private readonly PrefixTrie? _anyHost;

    private RouteTable(Dictionary<string, PrefixTrie> exact, Dictionary<string, PrefixTrie> wildcard, PrefixTrie? anyHost)
    {
        _exactHosts = exact;
        _wildcardHosts = wildcard;
        _exactLookup = exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = wildcard.GetAlternateLookup<ReadOnlySpan<char>>();
        _anyHost = anyHost;
    }

    /// <summary>Number of distinct host keys (exact + wildcard), for diagnostics.</summary>
    public int HostCount => _exactHosts.Count + _wildcardHosts.Count + (_anyHost is null ? 0 : 1);

    /// <summary>Builds the index; <paramref name="routes"/> in config order.</summary>
    public static RouteTable<T> Build(IEnumerable<(RouteMatchConfig Match, T Value)> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var exact = new Dictionary<string, PrefixTrie>(StringComparer.OrdinalIgnoreCase);
        var wildcard = new Dictionary<string, PrefixTrie>(StringComparer.OrdinalIgnoreCase);
        PrefixTrie? anyHost = null;
        foreach (var (match, value) in routes)
        {
            ArgumentNullException.ThrowIfNull(match);
            ArgumentNullException.ThrowIfNull(value);
            var prefix = string.IsNullOrEmpty(match.PathPrefix) ? "/" : match.PathPrefix;
            if (match.Hosts.Count == 0)
            {
                (anyHost ??= new PrefixTrie()).Add(prefix, value);
                continue;
            }

            foreach (var rawHost in match.Hosts)
            {
                var host = rawHost.Trim();
                if (host is "*" or "")
                {
                    (anyHost ??= new PrefixTrie()).Add(prefix, value);
                }
                else if (host.StartsWith("*.", StringComparison.Ordinal))
                {
                    GetOrAdd(wildcard, host[1..]).Add(prefix, value);
                }
                else
                {
                    GetOrAdd(exact, host.TrimEnd('.')).Add(prefix, value);
                }
            }
        }

        return new RouteTable<T>(exact, wildcard, anyHost);
    }

    /// <summary>The route for <paramref name="host"/> (without port) and an already normalized path, or null.</summary>
    public T? Match(string host, string normalizedPath)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(normalizedPath);
        var hostSpan = host.AsSpan().TrimEnd('.');
        if (_exactLookup.TryGetValue(hostSpan, out var trie) && trie.Match(normalizedPath) is { } exactHit)
        {
            return exactHit;
        }

        if (_wildcardHosts.Count > 0)
        {
            // Longest suffix first: for a.b.example.com try ".b.example.com", then ".example.com", then ".com".
            // "*.example.com" never matches "example.com" itself (a wildcard needs a non-empty label).
            for (var dot = hostSpan.IndexOf('.'); dot > 0; dot = NextDot(hostSpan, dot))
            {
                if (_wildcardLookup.TryGetValue(hostSpan[dot..], out trie) && trie.Match(normalizedPath) is { } wildcardHit)
                {
                    return wildcardHit;
                }
            }
        }

        return _anyHost?.Match(normalizedPath);
    }

    private static int NextDot(ReadOnlySpan<char> host, int dot)
    {
        var next = host[(dot + 1)..].IndexOf('.');
        return next < 0 ? -1 : dot + 1 + next;
    }

    private static PrefixTrie GetOrAdd(Dictionary<string, PrefixTrie> map, string key)
    {
        if (!map.TryGetValue(key, out var trie))
        {
            trie = new PrefixTrie();
            map.Add(key, trie);
        }

        return trie;
    }

    /// <summary>A trie of path segments; each node holds the first route (config order) whose prefix ends there.</summary>
    private sealed class PrefixTrie
    {
        private readonly Node _root = new();

        public void Add(string prefix, T value)
        {
            var node = _root;
            foreach (var segment in Segments(prefix))
            {
                node = node.GetOrAddChild(segment);
            }

            node.Value ??= value; // ties → config order
        }

        public T? Match(string path)
        {
            var node = _root;
            var best = node.Value;
            var span = path.AsSpan();
            var position = span.Length > 0 && span[0] == '/' ? 1 : 0;
            while (position <= span.Length && node.HasChildren)
            {
                var rest = span[position..];
                var end = rest.IndexOf('/');
                var segment = end < 0 ? rest : rest[..end];
                if (!node.TryGetChild(segment, out var child))
                {
                    break;
                }

                node = child;
                best = node.Value ?? best;
                if (end < 0)
                {
                    break;
                }

                position += end + 1;
            }

            return best;
        }

        private static List<string> Segments(string prefix)
        {
            var trimmed = prefix.Trim().TrimEnd('/');
            var result = new List<string>();
            foreach (var segment in trimmed.Split('/'))
            {
                result.Add(segment);
            }

            // "/orders".Split('/') → ["", "orders"]: drop the leading empty segment of the root.
            if (result.Count > 0 && result[0].Length == 0)
            {
                result.RemoveAt(0);
            }

            return result;
        }

        private sealed class Node
        {
            private Dictionary<string, Node>? _children;
            private Dictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _lookup;

            public T? Value { get; set; }

            public bool HasChildren => _children is not null;

            public Node GetOrAddChild(string segment)
            {
                if (_children is null)
                {
                    _children = new Dictionary<string, Node>(StringComparer.Ordinal);
                    _lookup = _children.GetAlternateLookup<ReadOnlySpan<char>>();
                }

                if (!_children.TryGetValue(segment, out var child))
                {
                    child = new Node();
                    _children.Add(segment, child);
                }

                return child;
            }

            public bool TryGetChild(ReadOnlySpan<char> segment, out Node child) =>
                _lookup.TryGetValue(segment, out child!);
        }
    }
}
