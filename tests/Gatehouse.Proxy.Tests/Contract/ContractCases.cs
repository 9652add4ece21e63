using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Tests.Contract;

/// <summary>Which credential a case presents.</summary>
public enum TokenKind
{
    None,
    Valid,
    ValidWithWriteScope,
    Expired,
    WrongAudience,
    InsufficientScope,
    MalformedBearer,
    BasicScheme,
    NotAJwt,
}

/// <summary>
/// One request and the outcome every host must give for it (issue 7 item 4). <see cref="ExpectedReason"/> is the
/// full first reason (<c>policy.deny_matched:block-admin/rule0</c>); hosts that only expose the stable code (the
/// ext_authz HTTP denial body) are compared on the part before ':'.
/// </summary>
public sealed record ContractCase(string Name)
{
    public string Method { get; init; } = "GET";
    /// <summary>Request target exactly as sent on the wire (raw path + query).</summary>
    public required string Target { get; init; }
    public TokenKind Token { get; init; } = TokenKind.None;
    /// <summary>SPIFFE ID of the peer (mTLS as Envoy reports it in <c>source.principal</c>, or trusted XFCC).</summary>
    public string? Peer { get; init; }
    public required int ExpectedStatus { get; init; }
    public required string ExpectedReason { get; init; }
    /// <summary>For allowed cases: the path the upstream must receive (the normalized path).</summary>
    public string? ExpectedUpstreamPath { get; init; }
    public bool Allowed => ExpectedStatus == 200;

    public override string ToString() => Name;
}

/// <summary>The decision case table: routes/policies in <see cref="ContractServerFixture.Config"/>.</summary>
public static class ContractCases
{
    public const string Checkout = "spiffe://cluster.local/ns/shop/sa/checkout";
    public const string Other = "spiffe://cluster.local/ns/shop/sa/other";

    private const string AllowRead = ReasonCodes.PolicyAllowMatched + ":orders-access/rule0";
    private const string AllowWrite = ReasonCodes.PolicyAllowMatched + ":orders-access/rule1";
    private const string BlockAdmin = ReasonCodes.PolicyDenyMatched + ":block-admin/rule0";

    public static IReadOnlyList<ContractCase> All { get; } =
    [
        // Authentication on a token route.
        new("Orders_NoToken_401") { Target = "/orders/1", ExpectedStatus = 401, ExpectedReason = ReasonCodes.TokenMissing },
        new("Orders_ValidToken_Allowed") { Target = "/orders/1", Token = TokenKind.Valid, ExpectedStatus = 200, ExpectedReason = AllowRead, ExpectedUpstreamPath = "/orders/1" },
        new("Orders_Expired_401") { Target = "/orders/1", Token = TokenKind.Expired, ExpectedStatus = 401, ExpectedReason = ReasonCodes.TokenExpired },
        new("Orders_WrongAudience_401") { Target = "/orders/1", Token = TokenKind.WrongAudience, ExpectedStatus = 401, ExpectedReason = ReasonCodes.TokenAudienceMismatch },
        new("Orders_MissingRequiredScope_403") { Target = "/orders/1", Token = TokenKind.InsufficientScope, ExpectedStatus = 403, ExpectedReason = ReasonCodes.ScopeMissing + ":orders.read" },
        new("Orders_MalformedBearer_401") { Target = "/orders/1", Token = TokenKind.MalformedBearer, ExpectedStatus = 401, ExpectedReason = ReasonCodes.AuthorizationHeaderInvalid },
        new("Orders_BasicScheme_IsNoToken_401") { Target = "/orders/1", Token = TokenKind.BasicScheme, ExpectedStatus = 401, ExpectedReason = ReasonCodes.TokenMissing },
        new("Orders_NotAJwt_401") { Target = "/orders/1", Token = TokenKind.NotAJwt, ExpectedStatus = 401, ExpectedReason = ReasonCodes.TokenMalformed },

        // Policies: allow rules, scopes, no allow match, deny beats allow.
        new("Orders_Post_WithoutWriteScope_403") { Method = "POST", Target = "/orders/1", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = ReasonCodes.ScopeMissing + ":orders.write" },
        new("Orders_Post_WithWriteScope_Allowed") { Method = "POST", Target = "/orders/1", Token = TokenKind.ValidWithWriteScope, ExpectedStatus = 200, ExpectedReason = AllowWrite, ExpectedUpstreamPath = "/orders/1" },
        new("Orders_Put_NoAllowMatch_403") { Method = "PUT", Target = "/orders/1", Token = TokenKind.ValidWithWriteScope, ExpectedStatus = 403, ExpectedReason = ReasonCodes.PolicyNoAllowMatch },
        new("Orders_CollectionPath_NoAllowMatch_403") { Target = "/orders", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = ReasonCodes.PolicyNoAllowMatch },
        new("Orders_Admin_DenyBeatsAllow_403") { Target = "/orders/admin/users", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = BlockAdmin },
        new("Orders_Admin_QueryIsNotPath_Allowed") { Target = "/orders/1?next=/orders/admin/users", Token = TokenKind.Valid, ExpectedStatus = 200, ExpectedReason = AllowRead, ExpectedUpstreamPath = "/orders/1" },

        // Tricky paths: the normalized path is what every host matches.
        new("Tricky_DotSegment_Denied") { Target = "/orders/./admin/users", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = BlockAdmin },
        new("Tricky_DotDot_Denied") { Target = "/orders/x/../admin/users", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = BlockAdmin },
        new("Tricky_EncodedDotDot_Denied") { Target = "/orders/x/%2e%2E/admin/users", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = BlockAdmin },
        new("Tricky_DoubleSlash_Denied") { Target = "/orders//admin/users", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = BlockAdmin },
        new("Tricky_EncodedUnreserved_Denied") { Target = "/orders/%61dmin/users", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = BlockAdmin },
        new("Tricky_EncodedSlash_400") { Target = "/orders%2Fadmin/users", Token = TokenKind.Valid, ExpectedStatus = 400, ExpectedReason = ReasonCodes.PathAmbiguous },
        new("Tricky_EncodedBackslash_400") { Target = "/orders/x%5C..%5Cadmin", Token = TokenKind.Valid, ExpectedStatus = 400, ExpectedReason = ReasonCodes.PathAmbiguous },
        new("Tricky_DotDotSemicolon_400") { Target = "/orders/x/..;/admin/users", Token = TokenKind.Valid, ExpectedStatus = 400, ExpectedReason = ReasonCodes.PathAmbiguous },
        // Note: %00 is not here: Kestrel refuses it (400) before any host decides; Security/PathNormalizationBypassTests covers it.
        new("Tricky_ClimbAboveRoot_400") { Target = "/../orders/1", Token = TokenKind.Valid, ExpectedStatus = 400, ExpectedReason = ReasonCodes.PathInvalid },
        new("Tricky_DotSegments_Allowed_Normalized") { Target = "/orders/x/.././1", Token = TokenKind.Valid, ExpectedStatus = 200, ExpectedReason = AllowRead, ExpectedUpstreamPath = "/orders/1" },
        new("Tricky_UpperCase_NoRoute_404") { Target = "/ORDERS/1", Token = TokenKind.Valid, ExpectedStatus = 404, ExpectedReason = ReasonCodes.RouteNotFound },
        new("UnknownRoute_404") { Target = "/nowhere", ExpectedStatus = 404, ExpectedReason = ReasonCodes.RouteNotFound },

        // Public route: anonymous allowed, an invalid token still refused, deny policies still apply.
        new("Public_Anonymous_Allowed") { Target = "/public/x", ExpectedStatus = 200, ExpectedReason = ReasonCodes.NoPolicy, ExpectedUpstreamPath = "/public/x" },
        new("Public_ValidToken_Allowed") { Target = "/public/x", Token = TokenKind.Valid, ExpectedStatus = 200, ExpectedReason = ReasonCodes.NoPolicy, ExpectedUpstreamPath = "/public/x" },
        new("Public_ExpiredToken_401") { Target = "/public/x", Token = TokenKind.Expired, ExpectedStatus = 401, ExpectedReason = ReasonCodes.TokenExpired },
        new("Public_Admin_DenyPolicy_WithToken_403") { Target = "/public/admin", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = BlockAdmin },

        // Peer identity (mTLS principal / trusted XFCC).
        new("Peer_Checkout_Allowed") { Target = "/peer/x", Peer = Checkout, ExpectedStatus = 200, ExpectedReason = ReasonCodes.PolicyAllowMatched + ":peer-access/rule0", ExpectedUpstreamPath = "/peer/x" },
        new("Peer_CheckoutWithToken_Allowed") { Target = "/peer/x", Peer = Checkout, Token = TokenKind.Valid, ExpectedStatus = 200, ExpectedReason = ReasonCodes.PolicyAllowMatched + ":peer-access/rule0", ExpectedUpstreamPath = "/peer/x" },
        new("Peer_OtherWorkload_WithToken_403") { Target = "/peer/x", Peer = Other, Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = ReasonCodes.PolicyNoAllowMatch },
        new("Peer_None_Anonymous_401") { Target = "/peer/x", ExpectedStatus = 401, ExpectedReason = ReasonCodes.PolicyNoAllowMatch },
        new("Peer_None_WithToken_403") { Target = "/peer/x", Token = TokenKind.Valid, ExpectedStatus = 403, ExpectedReason = ReasonCodes.PolicyNoAllowMatch },
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in All)
        {
            data.Add(c.Name);
        }
        return data;
    }

    public static ContractCase Get(string name) => All.Single(c => c.Name == name);

    public static string Code(string? reason) => reason is null ? "" : reason.Split(':')[0];
}
