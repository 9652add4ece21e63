using System.Net;
using Gatehouse.Decisions;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// Maps Envoy's <c>CheckRequest.attributes</c> (api/envoy/service/auth/v3/attribute_context.proto) to the host-
/// independent <see cref="AuthorizationRequest"/>.
/// </summary>
internal static class CheckRequestMapper
{
    /// <summary>
    /// Returns null when the request carries no HTTP attributes (e.g. Envoy's network-level ext_authz filter), or a
    /// method or authority no HTTP parser would have produced (a method that is not an RFC 9110 token, an authority
    /// with control characters, spaces or non-ASCII): there is nothing sound to decide an HTTP route on, and the
    /// caller denies.
    /// </summary>
    public static AuthorizationRequest? Map(CheckRequest check, ExtAuthzOptions options)
    {
        var attributes = check.Attributes;
        var http = attributes?.Request?.Http;
        if (attributes is null || http is null)
        {
            return null;
        }

        var headers = HeaderLookup.From(http);

        // attribute_context.proto: `path` is the request target (path + query, not decoded); `query` is always empty.
        var target = http.Path.Length > 0 ? http.Path : headers.Get(":path") ?? "";
        var queryStart = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryStart < 0 ? target : target[..queryStart];
        var query = queryStart < 0 ? "" : target[queryStart..];
        if (rawPath.Length == 0)
        {
            return null;
        }

        var method = http.Method.Length > 0 ? http.Method : headers.Get(":method") ?? "";
        if (method.Length == 0 || !IsToken(method))
        {
            return null;
        }

        // Note: Envoy's codecs refuse such values, so only a caller other than Envoy sends them; mapped, a host like
        // "admin.example.com\r" would match no to.hosts rule and so dodge a DENY rule (found by the extauthz property).
        var authority = http.Host.Length > 0 ? http.Host : headers.Get(":authority") ?? headers.Get("host") ?? "";
        if (!IsVisibleAscii(authority))
        {
            return null;
        }

        var hostString = new HostString(authority);
        var scheme = http.Scheme.Length > 0 ? http.Scheme.ToLowerInvariant() : "http";
        // The port Envoy's connection reached (Istio's destination.port), never the one a client wrote into
        // :authority when Envoy reports it: "Host: x:8443" would otherwise satisfy a to.ports rule for 8443 (or dodge
        // a DENY rule) on a port the client never reached. Found by the `extauthz` fuzz target's invariants.
        var port = DestinationPort(attributes)
            ?? (hostString.Port is >= 1 and <= 65535 ? hostString.Port : null)
            ?? (scheme == "https" ? 443 : 80);

        var source = attributes.Source;
        return new AuthorizationRequest
        {
            Method = method,
            Host = hostString.Host.ToLowerInvariant(),
            Port = port,
            Scheme = scheme,
            RawPath = rawPath,
            Query = query,
            GetHeader = headers.Get,
            SourceAddress = SourceAddress(source),
            // Envoy sets principal from the verified peer certificate's URI SAN, DNS SAN or Subject, in that order;
            // only a SPIFFE ID is a workload identity.
            PeerIdentity = PeerCertificates.SpiffeIdOrNull(source?.Principal),
            PeerCertificateThumbprint = PeerCertificates.ThumbprintFromUrlEncodedPem(source?.Certificate),
            Listener = options.ListenerName,
            TraceId = PeerCertificates.TraceIdFromTraceparent(headers.Get("traceparent")),
        };
    }

    // RFC 9110 §5.6.2: token = 1*tchar.
    private static bool IsToken(string value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsVisibleAscii(string value)
    {
        foreach (var c in value)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static IPAddress? SourceAddress(AttributeContext.Types.Peer? source)
    {
        var address = source?.Address?.SocketAddress?.Address;
        return address is not null && IPAddress.TryParse(address, out var ip) ? ip : null;
    }

    private static int? DestinationPort(AttributeContext attributes)
    {
        var socket = attributes.Destination?.Address?.SocketAddress;
        return socket is not null && socket.PortSpecifierCase == Wire.Core.SocketAddress.PortSpecifierOneofCase.PortValue
            && socket.PortValue is >= 1 and <= 65535
            ? (int)socket.PortValue
            : null;
    }

    /// <summary>Case-insensitive header lookup over <c>headers</c> or, when Envoy encodes raw headers, <c>header_map</c>.</summary>
    private sealed class HeaderLookup
    {
        private readonly Dictionary<string, string> _headers;

        private HeaderLookup(Dictionary<string, string> headers) => _headers = headers;

        public static HeaderLookup From(AttributeContext.Types.HttpRequest http)
        {
            // header_map (encode_raw_headers: true) replaces `headers`: key + raw_value, repeated keys not merged.
            // Merge them with ',' as the `headers` map does (attribute_context.proto), so both encodings decide alike.
            if (http.HeaderMap is { Headers.Count: > 0 } map)
            {
                var raw = new Dictionary<string, string>(map.Headers.Count, StringComparer.OrdinalIgnoreCase);
                foreach (var header in map.Headers)
                {
                    var value = header.RawValue.IsEmpty ? header.Value : header.RawValue.ToStringUtf8();
                    raw[header.Key] = raw.TryGetValue(header.Key, out var existing) ? existing + "," + value : value;
                }

                return new HeaderLookup(raw);
            }

            var headers = new Dictionary<string, string>(http.Headers.Count, StringComparer.OrdinalIgnoreCase);
            foreach (var (key, value) in http.Headers)
            {
                headers[key] = value;
            }

            return new HeaderLookup(headers);
        }

        public string? Get(string name) => _headers.GetValueOrDefault(name);
    }
}
