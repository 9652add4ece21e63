using System.Net;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Identity;
using Gatehouse.Model;
using Gatehouse.Policy;
using Gatehouse.Routing;

namespace Gatehouse.Benchmarks.Policy;

/// <summary>
/// Route lookup + path normalization + policy evaluation for one request, with the config holding
/// <see cref="Routes"/> routes, each bound to its own ALLOW policy (3 rules) and sharing 2 global policies (so a
/// config of 10,000 routes carries ~30,000 rules). The cost must stay flat as the config grows: routes are indexed
/// by host and path segment, and each route only evaluates its own compiled policy set.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class PolicyEvaluationBenchmarks
{
    private RouteTable<RouteEntry> _table = null!;
    private AuthorizationRequest _request = null!;
    private Principal _principal = null!;
    private readonly PathNormalizationConfig _paths = new();

    [Params(10, 1_000, 10_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var globals = new[]
        {
            new PolicyConfig
            {
                Name = "block-admin", Action = PolicyAction.Deny, Global = true,
                Rules = [new PolicyRuleConfig { To = new ToConfig { Paths = ["/admin/*", "*/internal/*"] } }],
            },
            new PolicyConfig
            {
                Name = "deny-untrusted", Action = PolicyAction.Deny, Global = true,
                Rules = [new PolicyRuleConfig { From = new FromConfig { NotIpBlocks = ["10.0.0.0/8", "192.168.0.0/16"] } }],
            },
        };

        var routes = new List<(RouteMatchConfig, RouteEntry)>(Routes);
        for (var i = 0; i < Routes; i++)
        {
            var policy = new PolicyConfig
            {
                Name = $"svc{i}-access",
                Rules =
                [
                    new PolicyRuleConfig
                    {
                        From = new FromConfig { Principals = ["spiffe://cluster.local/ns/shop/sa/checkout"] },
                        To = new ToConfig { Methods = ["POST"], Paths = [$"/svc{i}/orders"] },
                        When = [new WhenConditionConfig { Key = "scopes", Values = ["orders.write"] }],
                    },
                    new PolicyRuleConfig
                    {
                        To = new ToConfig { Methods = ["GET", "HEAD"], Paths = [$"/svc{i}/orders/*"] },
                        When =
                        [
                            new WhenConditionConfig { Key = "scopes", Values = ["orders.read"] },
                            new WhenConditionConfig { Key = "claims.realm_access.roles", Values = ["clerk"] },
                        ],
                    },
                    new PolicyRuleConfig { From = new FromConfig { Namespaces = ["ops"] } },
                ],
            };
            var match = new RouteMatchConfig { Hosts = [$"api{i % 50}.example.com"], PathPrefix = $"/svc{i}" };
            routes.Add((match, new RouteEntry($"svc{i}", CompiledPolicySet.Compile([policy, .. globals]))));
        }

        _table = RouteTable<RouteEntry>.Build(routes);
        var target = Routes / 2;
        _request = new AuthorizationRequest
        {
            Method = "GET",
            Host = $"api{target % 50}.example.com",
            Port = 443,
            RawPath = $"/svc{target}/orders/%34%32",
            GetHeader = static _ => null,
            SourceAddress = IPAddress.Parse("10.1.2.3"),
        };
        _principal = new Principal
        {
            Workload = "spiffe://cluster.local/ns/shop/sa/checkout",
            Issuer = "https://idp.example.com/",
            Subject = "alice",
            Scopes = new HashSet<string>(["openid", "orders.read"], StringComparer.Ordinal),
            Claims = JsonDocument.Parse("""{"sub":"alice","realm_access":{"roles":["user","clerk"]}}""").RootElement,
        };
    }

    /// <summary>The whole policy step of a request: normalize, route, evaluate (allow path).</summary>
    [Benchmark]
    public bool NormalizeRouteEvaluate()
    {
        var path = PathNormalizer.Normalize(_request.RawPath, _paths);
        var route = _table.Match(_request.Host, path.Path)!;
        return route.Policies.Evaluate(new PolicyInput(_request, path.Path, _principal)).Allowed;
    }

    /// <summary>The same with the full trace (what <c>gatehouse explain</c> and debug audit pay).</summary>
    [Benchmark]
    public int EvaluateWithTrace()
    {
        var path = PathNormalizer.Normalize(_request.RawPath, _paths);
        var route = _table.Match(_request.Host, path.Path)!;
        return route.Policies.Evaluate(new PolicyInput(_request, path.Path, _principal), trace: true).Trace.Count;
    }

    public sealed record RouteEntry(string Name, CompiledPolicySet Policies);
}
