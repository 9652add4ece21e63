using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Tests.Audit;

public sealed class AuditRecordTests
{
    private static readonly DateTimeOffset s_time = new(2026, 11, 22, 10, 30, 0, 123, TimeSpan.FromHours(2));

    private static readonly JsonElement s_schema =
        JsonDocument.Parse(File.ReadAllText(RepoPaths.Of("schema", "audit-record.schema.json"))).RootElement;

    public static TheoryData<string> Decisions => ["allow", "deny", "audit", "dry_run", "minimal", "not_found"];

    [Theory]
    [MemberData(nameof(Decisions))]
    public void Create_ProducesLineValidAgainstSchema(string kind)
    {
        var record = AuditRecord.Create(MakeDecision(kind), AuditTestData.Request(query: "?a=1"), TimeSpan.FromMilliseconds(1.23456), s_time, includeQuery: true);

        using var line = JsonDocument.Parse(record.ToJson());

        Assert.Empty(JsonSchemaSubset.Validate(s_schema, line.RootElement));
    }

    [Fact]
    public void Schema_ListsEveryPropertyTheWriterCanEmit()
    {
        // A fully populated record must validate against a schema with additionalProperties: false, so a field
        // added to the writer without the schema fails here.
        var record = AuditRecord.Create(AuditTestData.Allow(), AuditTestData.Request(query: "?x=1"), TimeSpan.FromMilliseconds(2), s_time, includeQuery: true)
            with
        {
            Recorded = ["audit-all"], DroppedBefore = 3, Actors = [new Gatehouse.Model.Actor("billing-agent", "agent-app", "https://sts.example/")],
            Txn = "txn-1", TxnUnverified = true, RequestingWorkloads = ["spiffe://shop.example/ns/edge/sa/gateway"], TxnRoute = "checkout",
        };
        using var line = JsonDocument.Parse(record.ToJson());
        var names = line.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
        var schemaNames = s_schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();

        Assert.Equal(schemaNames.Order(), names.Order());
        Assert.Empty(JsonSchemaSubset.Validate(s_schema, line.RootElement));
    }

    [Fact]
    public void Create_WritesSnakeCaseFields()
    {
        var record = AuditRecord.Create(AuditTestData.Deny(), AuditTestData.Request(), TimeSpan.FromTicks(12_346), s_time, includeQuery: false);

        using var doc = JsonDocument.Parse(record.ToJson());
        var root = doc.RootElement;

        Assert.Equal("2026-11-22T08:30:00.123Z", root.GetProperty("time").GetString());
        Assert.Equal(1, root.GetProperty("schema_version").GetInt32());
        Assert.Equal("deny", root.GetProperty("decision").GetString());
        Assert.Equal(403, root.GetProperty("status").GetInt32());
        Assert.Equal("scope.missing:orders.write", root.GetProperty("reasons")[0].GetString());
        Assert.Equal("orders-write/rule0", root.GetProperty("policy").GetString());
        Assert.Equal("orders", root.GetProperty("route").GetString());
        Assert.Equal("GET", root.GetProperty("method").GetString());
        Assert.Equal("api.example.com", root.GetProperty("host").GetString());
        Assert.Equal("/orders/42", root.GetProperty("path").GetString());
        Assert.Equal("10.1.2.3", root.GetProperty("source_address").GetString());
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/checkout", root.GetProperty("workload").GetString());
        Assert.Equal("alice", root.GetProperty("subject").GetString());
        Assert.Equal("checkout-svc", root.GetProperty("client_id").GetString());
        Assert.Equal("https://idp.example.com/", root.GetProperty("issuer").GetString());
        Assert.Equal(["openid", "orders.read"], root.GetProperty("scopes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(AuditTestData.Fingerprint, root.GetProperty("token_fingerprint").GetString());
        Assert.Equal("k1", root.GetProperty("kid").GetString());
        Assert.Equal("jti-123", root.GetProperty("jti").GetString());
        Assert.Equal(AuditTestData.TraceId, root.GetProperty("trace_id").GetString());
        Assert.Equal(1.235, root.GetProperty("latency_ms").GetDouble());
        Assert.Equal(0, root.GetProperty("dropped_before").GetInt64());
        Assert.False(root.TryGetProperty("query", out _));
    }

    [Fact]
    public void Create_LeavesQueryOutByDefault()
    {
        var record = AuditRecord.Create(AuditTestData.Allow(), AuditTestData.Request(query: "?page=2"), TimeSpan.Zero, s_time, includeQuery: false);

        Assert.Null(record.Query);
        Assert.DoesNotContain("page", record.ToJson(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?page=2&access_token=" + AuditTestData.QueryToken, "?page=2&access_token=REDACTED")]
    [InlineData("?code=" + AuditTestData.Code + "&state=xyz", "?code=REDACTED&state=xyz")]
    [InlineData("?client_secret=" + AuditTestData.ClientSecret, "?client_secret=REDACTED")]
    [InlineData("?Token=a&TOKEN=b", "?Token=REDACTED&TOKEN=REDACTED")]
    [InlineData("?access%5Ftoken=" + AuditTestData.QueryToken, "?access%5Ftoken=REDACTED")]
    [InlineData("?q=" + AuditTestData.Jwt, "?q=REDACTED")]
    [InlineData("?q=Bearer%20" + AuditTestData.Jwt + "&page=2", "?q=REDACTED&page=2")]
    [InlineData("?flag&x=1", "?flag&x=1")]
    [InlineData("", null)]
    [InlineData("?", null)]
    public void Create_RedactsCredentialLikeQueryValues(string query, string? expected)
    {
        var record = AuditRecord.Create(AuditTestData.Allow(), AuditTestData.Request(query: query), TimeSpan.Zero, s_time, includeQuery: true);

        Assert.Equal(expected, record.Query);
    }

    [Theory]
    [InlineData(AuditTestData.Jwt)]
    [InlineData("0123456789ABCDEF")]
    [InlineData("0123")]
    public void Create_DropsAFingerprintThatIsNotAHexDigestPrefix(string fingerprint)
    {
        var decision = AuditTestData.Allow();
        var withBadFingerprint = new Decision
        {
            Outcome = decision.Outcome,
            StatusCode = decision.StatusCode,
            Reasons = decision.Reasons,
            Token = AuditTestData.Token() with { Fingerprint = fingerprint },
        };

        var record = AuditRecord.Create(withBadFingerprint, AuditTestData.Request(), TimeSpan.Zero, s_time, includeQuery: false);

        Assert.Null(record.TokenFingerprint);
        Assert.DoesNotContain(fingerprint, record.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_CutsAFullDigestToTheSixteenCharacterPrefix()
    {
        var decision = AuditTestData.Allow();
        var full = new string('a', 64);
        var record = AuditRecord.Create(
            new Decision { Outcome = decision.Outcome, StatusCode = 200, Reasons = [], Token = AuditTestData.Token() with { Fingerprint = full } },
            AuditTestData.Request(), TimeSpan.Zero, s_time, includeQuery: false);

        Assert.Equal(new string('a', 16), record.TokenFingerprint);
    }

    [Fact]
    public void Create_IgnoresATraceIdThatIsNotW3C()
    {
        var request = AuditTestData.Request();
        var hostile = new AuthorizationRequest
        {
            Method = request.Method,
            Host = request.Host,
            RawPath = request.RawPath,
            GetHeader = request.GetHeader,
            TraceId = AuditTestData.Jwt,
        };

        var record = AuditRecord.Create(AuditTestData.Allow(), hostile, TimeSpan.Zero, s_time, includeQuery: false);

        Assert.Null(record.TraceId);
    }

    [Fact]
    public void Create_CapsHostileLongValues()
    {
        var decision = AuditTestData.Allow();
        var longJti = new string('j', 10_000);
        var record = AuditRecord.Create(
            new Decision { Outcome = decision.Outcome, StatusCode = 200, Reasons = [], Token = AuditTestData.Token() with { Jti = longJti } },
            AuditTestData.Request(path: "/" + new string('p', 10_000)), TimeSpan.Zero, s_time, includeQuery: false);

        Assert.Equal(AuditRecord.MaxFieldLength, record.Jti!.Length);
        Assert.Equal(AuditRecord.MaxPathLength, record.Path.Length);
    }

    [Fact]
    public void Create_NeverContainsATokenOrSecretFromTheRequest()
    {
        var query = $"?access_token={AuditTestData.QueryToken}&code={AuditTestData.Code}&client_secret={AuditTestData.ClientSecret}&t={AuditTestData.Jwt}";
        var json = AuditRecord.Create(AuditTestData.Deny(), AuditTestData.Request(query: query), TimeSpan.Zero, s_time, includeQuery: true).ToJson();

        foreach (var secret in AuditTestData.Secrets)
        {
            Assert.DoesNotContain(secret, json, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("Bearer", json, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(DecisionOutcome.Deny, "policy.dry_run_deny:p/rule0", "deny")]
    [InlineData(DecisionOutcome.Allow, "policy.allow_matched:p/rule0", "allow")]
    [InlineData(DecisionOutcome.Allow, "policy.dry_run_deny:p/rule0", "dry_run")]
    [InlineData(DecisionOutcome.Allow, "policy.audit_matched:a/rule1", "audit")]
    [InlineData(DecisionOutcome.Allow, "policy.audit_matchedX", "allow")]
    public void AuditDecisions_MapsOutcomeAndReasons(DecisionOutcome outcome, string reason, string expected)
    {
        var decision = new Decision { Outcome = outcome, StatusCode = 200, Reasons = [ReasonCodes.PublicRoute, reason] };

        Assert.Equal(expected, AuditDecisions.From(decision));
    }

    internal static Decision MakeDecision(string kind) => kind switch
    {
        "allow" => AuditTestData.Allow(),
        "deny" => AuditTestData.Deny(),
        "audit" => new Decision
        {
            Outcome = DecisionOutcome.Allow,
            StatusCode = 200,
            RouteName = "orders",
            Reasons = [ReasonCodes.PolicyAllowMatched, ReasonCodes.PolicyAuditMatched + ":audit-all/rule0"],
            Recorded = ["audit-all"],
        },
        "dry_run" => new Decision
        {
            Outcome = DecisionOutcome.Allow,
            StatusCode = 200,
            RouteName = "orders",
            Reasons = [ReasonCodes.PolicyDryRunDeny + ":block/rule0"],
            Recorded = ["block"],
        },
        "minimal" => new Decision { Outcome = DecisionOutcome.Deny, StatusCode = 401, Reasons = [ReasonCodes.TokenMissing] },
        "not_found" => new Decision { Outcome = DecisionOutcome.Deny, StatusCode = 404, Reasons = [ReasonCodes.RouteNotFound] },
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
