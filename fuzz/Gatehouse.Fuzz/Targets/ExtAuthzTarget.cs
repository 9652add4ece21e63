using System.Net;
using Gatehouse.Configuration;
using Gatehouse.Identity.Spiffe;
using Gatehouse.Proxy.ExtAuthz;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Google.Protobuf;

namespace Gatehouse.Fuzz.Targets;

/// <summary>
/// The ext_authz gRPC mapper (<see cref="CheckRequestMapper"/>) on arbitrary bytes read as an Envoy
/// <c>CheckRequest</c> by the generated protobuf parser (what the gRPC service hands it). Invariants: never throws;
/// a mapped request keeps the request target whole (raw path + query = Envoy's <c>path</c>, no <c>?</c> in the path)
/// and its path keeps every invariant of the <c>path</c> target; the port is the destination port Envoy reports
/// (never one a client wrote into <c>:authority</c>) and within 0–65535; the method is an RFC 9110 token; the host
/// is lower-case visible ASCII (no control character or space); a peer identity is a valid SPIFFE ID, a certificate thumbprint is a SHA-256 in base64url, a trace id
/// 32 lower-case hex digits; every header Envoy sent can be looked up, case-insensitively.
/// </summary>
internal sealed class ExtAuthzTarget : FuzzTarget
{
    private static readonly ExtAuthzOptions[] Options = [new(), new() { ListenerName = "ext-authz" }];

    public override string Name => "extauthz";

    public override string Description => "ext_authz CheckRequest (protobuf) → AuthorizationRequest: never throws; path, port, host, identity fields safe";

    public override void Run(ReadOnlySpan<byte> input)
    {
        CheckRequest check;
        try
        {
            check = CheckRequest.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException)
        {
            // The gRPC layer refuses a message it cannot parse before any Gatehouse code sees it.
            return;
        }

        foreach (var options in Options)
        {
            CheckOne(check, options);
        }
    }

    private static void CheckOne(CheckRequest check, ExtAuthzOptions options)
    {
        var request = CheckRequestMapper.Map(check, options);
        if (request is null)
        {
            return;
        }

        var http = check.Attributes.Request.Http;
        var headers = http.HeaderMap is { Headers.Count: > 0 } map
            ? map.Headers.Select(h => h.Key).ToList()
            : [.. http.Headers.Keys];
        var target = http.Path.Length > 0 ? http.Path : Header(check, ":path") ?? "";

        Check(request.Method.Length > 0 && request.Method.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)),
            $"method '{request.Method}' is not an RFC 9110 token");
        Check(request.RawPath.Length > 0 && !request.RawPath.Contains('?', StringComparison.Ordinal), $"raw path '{request.RawPath}' is empty or holds a query");
        Check(request.Query.Length == 0 || request.Query[0] == '?', $"query '{request.Query}' does not start with '?'");
        Check(string.Equals(request.RawPath + request.Query, target, StringComparison.Ordinal), "raw path + query is not the request target Envoy sent");
        PathTarget.CheckOne(request.RawPath, new PathNormalizationConfig());

        Check(request.Port is >= 0 and <= 65535, $"port {request.Port} out of range");
        var socket = check.Attributes.Destination?.Address?.SocketAddress;
        if (socket is { PortSpecifierCase: Proxy.ExtAuthz.Wire.Core.SocketAddress.PortSpecifierOneofCase.PortValue, PortValue: > 0 and <= 65535 })
        {
            Check(request.Port == (int)socket.PortValue, $"port {request.Port} is not the destination port {socket.PortValue} Envoy reported");
        }

        Check(string.Equals(request.Host, AuthorizationRequestHost(request.Host), StringComparison.Ordinal), "host not normalized");
        Check(request.Host.All(c => c is >= '!' and <= '~'), "control, space or non-ASCII character in the host");
        Check(string.Equals(request.Scheme, request.Scheme.ToLowerInvariant(), StringComparison.Ordinal), "scheme not lower case");
        Check(request.Listener == options.ListenerName, "listener name not copied");

        Check(request.PeerIdentity is null || (SpiffeId.TryParse(request.PeerIdentity, out var id, out _) && id.Value == request.PeerIdentity),
            $"peer identity '{request.PeerIdentity}' is not a valid SPIFFE ID");
        Check(request.PeerCertificateThumbprint is null || IsBase64UrlSha256(request.PeerCertificateThumbprint), "thumbprint is not a base64url SHA-256");
        Check(request.TraceId is null || (request.TraceId.Length == 32 && request.TraceId.All(char.IsAsciiHexDigitLower)), $"trace id '{request.TraceId}'");

        var address = check.Attributes.Source?.Address?.SocketAddress?.Address;
        Check(request.SourceAddress is null || (address is not null && IPAddress.TryParse(address, out var ip) && ip.Equals(request.SourceAddress)),
            "source address is not the one Envoy sent");
        foreach (var name in headers)
        {
            Check(request.GetHeader(name) is not null && request.GetHeader(name.ToUpperInvariant()) is not null, $"header '{name}' lost");
        }
    }

    private static string AuthorizationRequestHost(string host) => Model.AuthorizationRequest.NormalizeHost(host);

    /// <summary>A header as Envoy's attribute_context.proto defines it: header_map entries of one name comma-joined.</summary>
    private static string? Header(CheckRequest check, string name)
    {
        var http = check.Attributes.Request.Http;
        string? value = null;
        if (http.HeaderMap is { Headers.Count: > 0 } map)
        {
            foreach (var header in map.Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)))
            {
                var one = header.RawValue.IsEmpty ? header.Value : header.RawValue.ToStringUtf8();
                value = value is null ? one : value + "," + one;
            }

            return value;
        }

        // The map's keys are unique as written; names differing only in case are one header, the last one wins.
        foreach (var (key, one) in http.Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                value = one;
            }
        }

        return value;
    }

    private static bool IsBase64UrlSha256(string value) =>
        value.Length == 43 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
