using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Configuration;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Runtime;
using Gatehouse.Tests.Tokens;
using Gatehouse.Tokens;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Tests.Review;

/// <summary>
/// Security review fixture: a real config (YAML) compiled by <see cref="SnapshotCompiler"/>, real issuer runtimes
/// (jwks_file), one <see cref="DecisionEngine"/>. Issuers <c>corp</c> (iss <see cref="TestTokens.Issuer"/>) and
/// <c>other</c> (iss <see cref="OtherIssuer"/>, separate key) are always present; callers add routes and policies.
/// </summary>
public sealed class ReviewEngine : IAsyncDisposable
{
    public const string OtherIssuer = "https://other.test/";

    private static readonly Lazy<TestKey> s_corp = new(() => TestKey.Rsa("corp-1"));
    private static readonly Lazy<TestKey> s_other = new(() => TestKey.Rsa("other-1"));

    private readonly DirectoryInfo _dir;
    private readonly HttpClient _http = new();

    private ReviewEngine(DirectoryInfo dir, GatehouseSnapshot snapshot, IReadOnlyList<IssuerRuntime> started, DecisionEngine engine)
    {
        _dir = dir;
        Snapshot = snapshot;
        Started = started;
        Engine = engine;
    }

    public GatehouseSnapshot Snapshot { get; }
    public IReadOnlyList<IssuerRuntime> Started { get; }
    public DecisionEngine Engine { get; }
    public static TestKey CorpKey => s_corp.Value;
    public static TestKey OtherKey => s_other.Value;

    /// <summary>
    /// <paramref name="routes"/> and <paramref name="policies"/> are YAML blocks indented by two spaces (list items /
    /// map entries); <paramref name="issuersExtra"/> is appended under <c>issuers:</c>.
    /// </summary>
    public static async Task<ReviewEngine> CreateAsync(string routes, string? policies = null, string? issuersExtra = null, string? extra = null)
    {
        var dir = new DirectoryInfo(Gatehouse.Testing.TestTemp.CreateDirectory("review-"));
        var corpJwks = Path.Combine(dir.FullName, "corp.json");
        var otherJwks = Path.Combine(dir.FullName, "other.json");
        await File.WriteAllTextAsync(corpJwks, TestKey.Jwks(CorpKey));
        await File.WriteAllTextAsync(otherJwks, TestKey.Jwks(OtherKey));
        var yaml = $$"""
            version: 1
            issuers:
              corp:
                issuer: {{TestTokens.Issuer}}
                jwks_file: {{corpJwks}}
                audiences: [orders]
                algorithms: [RS256]
              other:
                issuer: {{OtherIssuer}}
                jwks_file: {{otherJwks}}
                audiences: [orders]
                algorithms: [RS256]
            {{issuersExtra ?? ""}}
            listeners:
              - { name: edge, mode: gateway, address: "127.0.0.1:0" }
            routes:
            {{routes}}
            policies:
            {{policies ?? "  {}"}}
            {{extra ?? ""}}
            """;
        var load = ConfigLoader.LoadYaml(yaml, "review.yaml", dir.FullName, new Dictionary<string, string>());
        Assert.True(load.IsValid, string.Join(Environment.NewLine, load.Errors) + Environment.NewLine + yaml);
        var compiler = new SnapshotCompiler(new HttpClient(), TimeProvider.System, NullLoggerFactory.Instance);
        var compilation = compiler.Compile(load.Config!, null);
        foreach (var issuer in compilation.Started)
        {
            await issuer.StartAsync(CancellationToken.None);
        }

        var engine = new DecisionEngine(new TokenAuthenticator(TimeProvider.System, NullLoggerFactory.Instance));
        return new ReviewEngine(dir, compilation.Snapshot, compilation.Started, engine);
    }

    /// <summary>Validates a YAML config (for config-acceptance findings).</summary>
    public static ConfigLoadResult Check(string yaml) =>
        ConfigLoader.LoadYaml(yaml, "review.yaml", Path.GetTempPath(), new Dictionary<string, string>());

    public static JsonObject Claims(string scope = "orders.read", string iss = TestTokens.Issuer)
    {
        var claims = TestTokens.Claims(DateTimeOffset.UtcNow);
        claims["iss"] = iss;
        claims["scope"] = scope;
        return claims;
    }

    public static string Corp(JsonObject? claims = null) => TestTokens.Sign(CorpKey, claims ?? Claims());

    public static string Other(JsonObject? claims = null) => TestTokens.Sign(OtherKey, claims ?? Claims(iss: OtherIssuer));

    public static AuthorizationRequest Request(
        string path = "/orders/1",
        string method = "GET",
        string host = "api.example.com",
        string? token = null,
        IDictionary<string, string>? headers = null,
        string? peer = null,
        IPAddress? source = null,
        int port = 443,
        string? peerThumbprint = null)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (token is not null)
        {
            all["authorization"] = "Bearer " + token;
        }

        foreach (var (k, v) in headers ?? new Dictionary<string, string>())
        {
            all[k] = v;
        }

        return new AuthorizationRequest
        {
            Method = method,
            Host = host,
            Port = port,
            Scheme = "https",
            RawPath = path,
            GetHeader = all.GetValueOrDefault,
            PeerIdentity = peer,
            PeerCertificateThumbprint = peerThumbprint,
            SourceAddress = source ?? IPAddress.Parse("10.1.2.3"),
            Listener = "edge",
        };
    }

    public ValueTask<Decision> DecideAsync(AuthorizationRequest request) => Engine.DecideAsync(request, Snapshot);

    public async ValueTask DisposeAsync()
    {
        foreach (var issuer in Started)
        {
            await issuer.DisposeAsync();
        }

        _http.Dispose();
        try
        {
            _dir.Delete(true);
        }
        catch (IOException)
        {
        }
    }
}
