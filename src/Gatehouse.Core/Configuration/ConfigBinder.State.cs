namespace Gatehouse.Configuration;

internal sealed partial class ConfigBinder
{
    private static readonly string[] s_stateBackends = ["memory", "redis"];

    private DpopConfig? BindDpop(YNode node, string path)
    {
        if (AsMapping(node, path) is not { } mapping)
        {
            return null;
        }

        var result = new DpopConfig();
        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Dpop))
        {
            switch (key)
            {
                case "algorithms":
                    var algorithms = StringItems(value, p);
                    foreach (var (alg, algNode, algPath) in algorithms)
                    {
                        // RFC 9449 §4.3 step 5: asymmetric only; none and HMAC can never sign a proof.
                        if (!DpopAlgorithms.IsSupported(alg))
                        {
                            Error(algNode, algPath, $"'{alg}' is not a DPoP proof algorithm; use one of {string.Join(", ", DpopAlgorithms.Supported)}");
                        }
                    }

                    if (algorithms.Count == 0 && value is YSequence)
                    {
                        Error(value, p, "an empty list would refuse every proof; list at least one algorithm");
                    }

                    result = result with { Algorithms = algorithms.ConvertAll(a => a.Value) };
                    break;
                case "max_age":
                    result = result with { MaxAge = Duration(value, p, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) ?? result.MaxAge };
                    break;
                case "clock_skew":
                    result = result with { ClockSkew = Duration(value, p, TimeSpan.Zero, TimeSpan.FromMinutes(5)) ?? result.ClockSkew };
                    break;
                case "nonce":
                    result = result with { Nonce = Bool(value, p) ?? result.Nonce };
                    break;
                case "nonce_rotation":
                    result = result with { NonceRotation = Duration(value, p, TimeSpan.FromSeconds(10), TimeSpan.FromDays(1)) ?? result.NonceRotation };
                    break;
                case "origins":
                    var origins = StringItems(value, p);
                    foreach (var (origin, originNode, originPath) in origins)
                    {
                        if (!DpopHtu.TryParse(origin, out var target, out var problem) || target.RawPath != "/" || origin.Contains('?', StringComparison.Ordinal) || origin.Contains('#', StringComparison.Ordinal))
                        {
                            Error(originNode, originPath, $"'{origin}' is not an origin (scheme://host[:port], http or https, no path){(problem.Length > 0 ? ": " + problem : "")}");
                        }
                    }

                    result = result with { Origins = origins.ConvertAll(o => o.Value) };
                    break;
            }
        }

        return result;
    }

    private StateConfig BindState(YNode node, string path)
    {
        var result = new StateConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.State))
        {
            switch (key)
            {
                case "backend":
                    if (OneOf(value, p, s_stateBackends, "state backend") is { } backend)
                    {
                        result = result with { Backend = backend == "redis" ? StateBackend.Redis : StateBackend.Memory };
                    }

                    break;
                case "max_entries":
                    result = result with { MaxEntries = (int?)Integer(value, p, 1_000, 10_000_000) ?? result.MaxEntries };
                    break;
                case "redis":
                    result = result with { Redis = BindRedis(value, p) };
                    break;
            }
        }

        return result;
    }

    private RedisStateConfig BindRedis(YNode node, string path)
    {
        var result = new RedisStateConfig();
        if (AsMapping(node, path) is not { } mapping)
        {
            return result;
        }

        foreach (var (key, value, p) in Entries(mapping, path, ConfigKeys.Redis))
        {
            switch (key)
            {
                case "endpoint":
                    if (NonEmptyString(value, p) is { } endpoint)
                    {
                        if (ConfigValues.ValidateAddress(endpoint) is { } problem)
                        {
                            Error(value, p, $"{problem} (host:port of the Redis server)");
                        }

                        result = result with { Endpoint = endpoint };
                    }

                    break;
                case "key_prefix":
                    if (String(value, p) is { } prefix)
                    {
                        if (prefix.Length > 64 || prefix.Any(c => c <= ' ' || c >= 0x7F))
                        {
                            Error(value, p, "a key prefix is at most 64 printable ASCII characters without spaces");
                        }

                        result = result with { KeyPrefix = prefix };
                    }

                    break;
                case "connect_timeout":
                    result = result with { ConnectTimeout = Duration(value, p, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1)) ?? result.ConnectTimeout };
                    break;
            }
        }

        return result;
    }
}
