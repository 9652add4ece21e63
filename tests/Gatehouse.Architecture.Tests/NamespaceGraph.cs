using System.Text;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Gatehouse.Tests.Architecture;

/// <summary>
/// Which namespace uses which, computed from compiled types: signatures, base types, attributes, locals and every
/// type, method and field a method body refers to. Nodes are namespaces mapped through a grouping function (a whole
/// folder such as <c>Gatehouse.Tokens</c> with its sub-folders, or each namespace on its own); each edge keeps a few
/// "type uses type" examples so a failure says which line of code to look at.
/// </summary>
/// <remarks>
/// Note: a <c>const</c> (e.g. a reason code) is copied into the IL of its user, so using only constants of a
/// namespace leaves no trace here. Such constants belong in the <c>Model</c> leaf anyway.
/// </remarks>
internal sealed class NamespaceGraph
{
    private const int ExamplesPerEdge = 3;

    private readonly SortedDictionary<string, SortedDictionary<string, SortedSet<string>>> _edges = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _nodes = new(StringComparer.Ordinal);

    private NamespaceGraph()
    {
    }

    /// <summary>Every node (grouped namespace) that holds at least one type.</summary>
    public IReadOnlyCollection<string> Nodes => _nodes;

    /// <summary>Every edge, from user to used.</summary>
    public IEnumerable<(string From, string To)> Edges =>
        _edges.SelectMany(e => e.Value.Keys.Select(to => (e.Key, to)));

    /// <summary>Builds the graph of <paramref name="types"/>; references are kept when their namespace starts with
    /// <paramref name="rootNamespace"/>.</summary>
    public static NamespaceGraph Build(IEnumerable<TypeDefinition> types, string rootNamespace, Func<string, string> group)
    {
        var graph = new NamespaceGraph();
        foreach (var type in types)
        {
            var from = NamespaceOf(type);
            if (from.Length == 0)
            {
                continue;
            }
            var fromNode = group(from);
            graph._nodes.Add(fromNode);
            foreach (var used in ReferencesOf(type))
            {
                var to = NamespaceOf(used);
                if (!to.StartsWith(rootNamespace, StringComparison.Ordinal))
                {
                    continue;
                }
                var toNode = group(to);
                if (toNode != fromNode)
                {
                    graph.Add(fromNode, toNode, $"{Outermost(type).Name} uses {Outermost(used).Name}");
                }
            }
        }
        return graph;
    }

    /// <summary>Whether <paramref name="from"/> uses <paramref name="to"/>.</summary>
    public bool HasEdge(string from, string to) => _edges.TryGetValue(from, out var targets) && targets.ContainsKey(to);

    /// <summary>The nodes <paramref name="from"/> uses.</summary>
    public IEnumerable<string> Targets(string from) =>
        _edges.TryGetValue(from, out var targets) ? targets.Keys : [];

    /// <summary>"A → B (X uses Y, …)" for one edge.</summary>
    public string Describe(string from, string to) =>
        $"{from} → {to} ({string.Join(", ", _edges[from][to])})";

    /// <summary>This graph without <paramref name="removed"/>.</summary>
    public NamespaceGraph Without(IEnumerable<(string From, string To)> removed)
    {
        var skip = removed.ToHashSet();
        var copy = new NamespaceGraph();
        copy._nodes.UnionWith(_nodes);
        foreach (var (from, targets) in _edges)
        {
            foreach (var (to, examples) in targets)
            {
                if (!skip.Contains((from, to)))
                {
                    foreach (var example in examples)
                    {
                        copy.Add(from, to, example);
                    }
                }
            }
        }
        return copy;
    }

    /// <summary>One cycle per strongly connected component of more than one node (Tarjan), each as the list of
    /// nodes along it, the first repeated at the end. Empty when the graph is acyclic.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var cycles = new List<IReadOnlyList<string>>();
        foreach (var component in StronglyConnectedComponents().Where(c => c.Count > 1))
        {
            var start = component.Min(StringComparer.Ordinal)!;
            cycles.Add(ShortestCycleThrough(start, component.ToHashSet()));
        }
        return cycles;
    }

    /// <summary>A cycle written edge by edge with its examples, for a failure message.</summary>
    public string Describe(IReadOnlyList<string> cycle)
    {
        var text = new StringBuilder();
        for (var i = 0; i + 1 < cycle.Count; i++)
        {
            text.Append("    ").AppendLine(Describe(cycle[i], cycle[i + 1]));
        }
        return text.ToString();
    }

    private void Add(string from, string to, string example)
    {
        _nodes.Add(from);
        _nodes.Add(to);
        if (!_edges.TryGetValue(from, out var targets))
        {
            _edges[from] = targets = new(StringComparer.Ordinal);
        }
        if (!targets.TryGetValue(to, out var examples))
        {
            targets[to] = examples = new(StringComparer.Ordinal);
        }
        if (examples.Count < ExamplesPerEdge)
        {
            examples.Add(example);
        }
    }

    private List<List<string>> StronglyConnectedComponents()
    {
        var index = 0;
        var indices = new Dictionary<string, int>();
        var lowLinks = new Dictionary<string, int>();
        var onStack = new HashSet<string>();
        var stack = new Stack<string>();
        var components = new List<List<string>>();

        void Visit(string node)
        {
            indices[node] = lowLinks[node] = index++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in Targets(node))
            {
                if (!indices.ContainsKey(next))
                {
                    Visit(next);
                    lowLinks[node] = Math.Min(lowLinks[node], lowLinks[next]);
                }
                else if (onStack.Contains(next))
                {
                    lowLinks[node] = Math.Min(lowLinks[node], indices[next]);
                }
            }
            if (lowLinks[node] == indices[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                components.Add(component);
            }
        }

        foreach (var node in _nodes)
        {
            if (!indices.ContainsKey(node))
            {
                Visit(node);
            }
        }
        return components;
    }

    private List<string> ShortestCycleThrough(string start, HashSet<string> component)
    {
        // Breadth-first from start's successors back to start, inside its component (which guarantees a way back).
        var previous = new Dictionary<string, string>();
        var queue = new Queue<string>();
        foreach (var next in Targets(start).Where(component.Contains))
        {
            if (next == start || previous.ContainsKey(next))
            {
                continue;
            }
            previous[next] = start;
            queue.Enqueue(next);
        }
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            if (HasEdge(node, start))
            {
                var path = new List<string> { start, node };
                for (var at = node; previous[at] != start; at = previous[at])
                {
                    path.Insert(1, previous[at]);
                }
                path.Add(start);
                return path;
            }
            foreach (var next in Targets(node).Where(component.Contains))
            {
                if (next != start && previous.TryAdd(next, node))
                {
                    queue.Enqueue(next);
                }
            }
        }
        throw new InvalidOperationException("no cycle through " + start + " in its own component");
    }

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }
        return type;
    }

    private static string NamespaceOf(TypeReference type) => Outermost(type).Namespace;

    private static IEnumerable<TypeReference> ReferencesOf(TypeDefinition type)
    {
        var found = new List<TypeReference>();
        void Add(TypeReference? reference)
        {
            switch (reference)
            {
                case null:
                case GenericParameter:
                    return;
                case GenericInstanceType generic:
                    foreach (var argument in generic.GenericArguments)
                    {
                        Add(argument);
                    }
                    Add(generic.ElementType);
                    return;
                case TypeSpecification specification:
                    Add(specification.ElementType);
                    return;
                default:
                    found.Add(reference);
                    return;
            }
        }
        void AddMethod(MethodReference method)
        {
            Add(method.DeclaringType);
            Add(method.ReturnType);
            foreach (var parameter in method.Parameters)
            {
                Add(parameter.ParameterType);
            }
            if (method is GenericInstanceMethod generic)
            {
                foreach (var argument in generic.GenericArguments)
                {
                    Add(argument);
                }
            }
        }
        void AddAttributes(ICustomAttributeProvider provider)
        {
            foreach (var attribute in provider.CustomAttributes)
            {
                Add(attribute.AttributeType);
                foreach (var argument in attribute.ConstructorArguments)
                {
                    Add(argument.Value as TypeReference);
                }
            }
        }
        void AddGenericParameters(IGenericParameterProvider provider)
        {
            foreach (var parameter in provider.GenericParameters)
            {
                foreach (var constraint in parameter.Constraints)
                {
                    Add(constraint.ConstraintType);
                }
            }
        }

        Add(type.BaseType);
        AddAttributes(type);
        AddGenericParameters(type);
        foreach (var implemented in type.Interfaces)
        {
            Add(implemented.InterfaceType);
        }
        foreach (var field in type.Fields)
        {
            Add(field.FieldType);
            AddAttributes(field);
        }
        foreach (var property in type.Properties)
        {
            Add(property.PropertyType);
            AddAttributes(property);
        }
        foreach (var @event in type.Events)
        {
            Add(@event.EventType);
        }
        foreach (var method in type.Methods)
        {
            AddMethod(method);
            AddAttributes(method);
            AddGenericParameters(method);
            if (!method.HasBody)
            {
                continue;
            }
            foreach (var variable in method.Body.Variables)
            {
                Add(variable.VariableType);
            }
            foreach (var instruction in method.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference reference:
                        Add(reference);
                        break;
                    case MethodReference reference:
                        AddMethod(reference);
                        break;
                    case FieldReference reference:
                        Add(reference.DeclaringType);
                        Add(reference.FieldType);
                        break;
                    case CallSite site:
                        Add(site.ReturnType);
                        break;
                }
            }
        }
        return found;
    }
}
