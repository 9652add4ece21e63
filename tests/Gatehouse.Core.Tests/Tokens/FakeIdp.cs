using System.Text;
using System.Text.Json.Nodes;

namespace Gatehouse.Tests.Tokens;

/// <summary>How the fake IdP answers a document request.</summary>
public enum IdpMode
{
    Ok,
    /// <summary>Connection closed without a response (IdP down).</summary>
    Down,
    Status500,
    Garbage,
    /// <summary>A 10 MB JWKS.</summary>
    Huge,
    /// <summary>Answers after <see cref="FakeIdp.SlowDelay"/>.</summary>
    Slow,
}

/// <summary>
/// A loopback identity provider for fault injection: OIDC discovery, JWKS (with key rotation) and RFC 7662
/// introspection, each switchable to down / slow / 500 / garbage / huge.
/// </summary>
public sealed class FakeIdp : IAsyncDisposable
{
    private readonly LoopbackServer _server;

    public FakeIdp()
    {
        _server = new LoopbackServer(Handle);
        Issuer = _server.BaseUri.ToString().TrimEnd('/');
    }

    /// <summary>The issuer identifier (no trailing slash), as the metadata announces it.</summary>
    public string Issuer { get; }

    public string? MetadataIssuer { get; set; }

    public volatile TestKey[] Keys = [];

    public IdpMode JwksMode { get; set; }

    public IdpMode DiscoveryMode { get; set; }

    public IdpMode IntrospectionMode { get; set; }

    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Introspection answer for a given token (default: inactive).</summary>
    public Func<string, JsonObject> Introspect { get; set; } = _ => new JsonObject { ["active"] = false };

    public LoopbackServer Server => _server;

    public string JwksUri => _server.Url("/jwks");

    public string DiscoveryUri => _server.Url("/.well-known/openid-configuration");

    public string IntrospectionUri => _server.Url("/introspect");

    public int JwksFetches => _server.Count("/jwks");

    public int DiscoveryFetches => _server.Count("/.well-known/openid-configuration");

    public int Introspections => _server.Count("/introspect");

    private LoopbackResponse Handle(LoopbackRequest request)
    {
        switch (request.Path)
        {
            case "/.well-known/openid-configuration":
                return Answer(DiscoveryMode, () => new JsonObject
                {
                    ["issuer"] = MetadataIssuer ?? Issuer,
                    ["jwks_uri"] = JwksUri,
                    ["introspection_endpoint"] = IntrospectionUri,
                }.ToJsonString());
            case "/jwks":
                return Answer(JwksMode, () => TestKey.Jwks(Keys));
            case "/introspect":
                return Answer(IntrospectionMode, () =>
                {
                    var form = request.Body.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1].Replace('+', ' ')));
                    return Introspect(form.GetValueOrDefault("token", "")).ToJsonString();
                });
            default:
                return new LoopbackResponse(404, []);
        }
    }

    private LoopbackResponse Answer(IdpMode mode, Func<string> body) => mode switch
    {
        IdpMode.Down => LoopbackResponse.Dropped(),
        IdpMode.Status500 => LoopbackResponse.Json("{\"error\":\"boom\"}", 500),
        IdpMode.Garbage => LoopbackResponse.Json("{\"keys\": [ this is not json"),
        IdpMode.Huge => new LoopbackResponse(200, Encoding.ASCII.GetBytes("{\"keys\":[],\"pad\":\"" + new string('x', 10 * 1024 * 1024) + "\"}")),
        IdpMode.Slow => LoopbackResponse.Json(body()) with { Delay = SlowDelay },
        _ => LoopbackResponse.Json(body()),
    };

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
