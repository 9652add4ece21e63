using System.Net;
using Gatehouse.Decisions;
using Gatehouse.Http;
using Gatehouse.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// Envoy's ext_authz HTTP service protocol (envoy.filters.http.ext_authz <c>http_service</c>): Envoy sends the
/// original request's method, <c>path_prefix</c> + original path and the allowed headers. A 200 answer allows, and
/// Envoy copies the response headers named in <c>allowed_upstream_headers</c> onto the upstream request and removes
/// those listed in <c>x-envoy-auth-headers-to-remove</c>; any other status denies, and Envoy sends that status,
/// the headers in <c>allowed_client_headers</c> and the body to the client.
/// Use it as the terminal handler of an <c>ext_authz_http</c> listener: <c>app.Run(handler.HandleAsync)</c>.
/// </summary>
public sealed class ExtAuthzHttpHandler
{
    /// <summary>Envoy's header listing the request headers to remove before forwarding (external_auth.proto).</summary>
    public const string HeadersToRemoveHeader = "x-envoy-auth-headers-to-remove";

    /// <summary>
    /// On a denial Gatehouse could not decide: the status the engine meant (503), for operators and Envoy access logs
    /// (<c>%RESP(x-gatehouse-intended-status)%</c>), since the answer itself must not be a 5xx.
    /// </summary>
    public const string IntendedStatusHeader = "x-gatehouse-intended-status";

    /// <summary>On every denial: the first reason code (its detail only with <c>include_error_details</c>).</summary>
    public const string ReasonHeader = "x-gatehouse-reason";

    private readonly DecideAsync _decide;
    private readonly ExtAuthzOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the handler.</summary>
    /// <param name="decide">The decision engine (optionally wrapped by <see cref="CachingDecider.Create"/>).</param>
    /// <param name="options">Listener settings (notably <see cref="ExtAuthzOptions.PathPrefix"/>).</param>
    /// <param name="logger">Diagnostics; never receives tokens.</param>
    public ExtAuthzHttpHandler(DecideAsync decide, ExtAuthzOptions options, ILogger<ExtAuthzHttpHandler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(decide);
        ArgumentNullException.ThrowIfNull(options);
        _decide = decide;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Serves one check request. Every answer is a decision, never a 5xx: Envoy's HTTP ext_authz client
    /// (ext_authz_http_impl.cc, <c>RawHttpClientImpl::toResponse</c>) turns any 5xx into an error, and with
    /// <c>failure_mode_allow: true</c> lets the request through.
    /// </summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Decision decision;
        try
        {
            var request = Map(context);
            if (request is null)
            {
                ExtAuthzLog.PrefixMissing(_logger);
                decision = LocalDecisions.PrefixMissing;
            }
            else
            {
                var (outcome, decided) = await DecisionRunner.RunAsync(_decide, request, context.RequestAborted, context.RequestAborted, _logger);
                if (outcome != RunOutcome.Decided)
                {
                    return;
                }

                decision = decided;
            }
        }
#pragma warning disable CA1031 // A failure outside the engine (mapping the request) must still be a denial, never Kestrel's 500.
        catch (Exception exception) when (exception is not OperationCanceledException)
#pragma warning restore CA1031
        {
            ExtAuthzLog.DecisionFailed(_logger, exception);
            decision = LocalDecisions.InternalError;
        }

        await WriteAsync(context, decision);
    }

    /// <summary>Builds the request to decide on, or null when the configured path prefix is missing.</summary>
    internal AuthorizationRequest? Map(HttpContext context)
    {
        var request = context.Request;

        // The raw request target, not the decoded Request.Path: the engine normalizes (and rejects %2F) itself.
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.PathBase + request.Path + request.QueryString).ToString();
        var queryStart = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryStart < 0 ? target : target[..queryStart];
        var query = queryStart < 0 ? "" : target[queryStart..];

        var prefix = _options.PathPrefix;
        if (prefix.Length > 0)
        {
            var trimmed = prefix.TrimEnd('/');
            if (!rawPath.StartsWith(trimmed, StringComparison.Ordinal)
                || (rawPath.Length > trimmed.Length && rawPath[trimmed.Length] != '/'))
            {
                return null;
            }

            rawPath = rawPath[trimmed.Length..];
            if (rawPath.Length == 0)
            {
                rawPath = "/";
            }
        }

        var headers = request.Headers;
        var scheme = headers.TryGetValue("x-forwarded-proto", out var proto) && proto.Count > 0 ? proto.ToString().ToLowerInvariant() : request.Scheme;
        var host = request.Host;

        string? peerIdentity = null;
        string? thumbprint = null;
        if (_options.TrustForwardedClientCert && headers.TryGetValue("x-forwarded-client-cert", out var xfcc))
        {
            (peerIdentity, thumbprint) = ForwardedClientCert.Parse(xfcc.ToString());
        }

        var lookup = new HeaderLookup(request, rawPath + query);
        return new AuthorizationRequest
        {
            Method = request.Method,
            Host = host.Host.ToLowerInvariant(),
            Port = host.Port ?? (scheme == "https" ? 443 : 80),
            Scheme = scheme,
            RawPath = rawPath,
            Query = query,
            GetHeader = lookup.Get,
            SourceAddress = ForwardedFor(headers),
            PeerIdentity = peerIdentity,
            PeerCertificateThumbprint = thumbprint,
            Listener = _options.ListenerName,
            TraceId = PeerCertificates.TraceIdFromTraceparent(headers.TryGetValue("traceparent", out var tp) ? tp.ToString() : null),
        };
    }

    /// <summary>The downstream address: the last <c>x-forwarded-for</c> entry, which Envoy appends itself.</summary>
    private static IPAddress? ForwardedFor(IHeaderDictionary headers)
    {
        if (!headers.TryGetValue("x-forwarded-for", out var values))
        {
            return null;
        }

        var all = values.ToString().AsSpan();
        var comma = all.LastIndexOf(',');
        var last = (comma < 0 ? all : all[(comma + 1)..]).Trim();
        return IPAddress.TryParse(last, out var ip) ? ip : null;
    }

    private Task WriteAsync(HttpContext context, Decision decision)
    {
        var response = context.Response;
        if (decision.Allowed)
        {
            response.StatusCode = StatusCodes.Status200OK;
            foreach (var (name, value) in HeaderMutations.HeadersToSet(decision))
            {
                response.Headers[name] = value;
            }

            // Envoy removes after it sets (HeaderMutations): never list a name this answer sets.
            var removals = HeaderMutations.HeadersToRemove(decision);
            if (removals.Count > 0)
            {
                response.Headers[HeadersToRemoveHeader] = string.Join(", ", removals);
            }

            return Task.CompletedTask;
        }

        var status = decision.StatusCode is >= 400 and <= 599 ? decision.StatusCode : StatusCodes.Status403Forbidden;
        if (status >= 500)
        {
            // "Cannot decide" (keys or introspection unavailable, internal error, overload) is a denial. A 5xx would be
            // an error to Envoy, and failure_mode_allow would turn it into an allow: answer the listener's 4xx and say
            // what was meant. The JSON body keeps "error":"unavailable".
            response.Headers[IntendedStatusHeader] = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            status = _options.StatusOnUnavailable;
        }

        response.StatusCode = status;
        response.Headers[ReasonHeader] = HeaderValues.EncodeText(DenialBody.Reason(decision, _options.IncludeErrorDetails));
        // Challenges are built with encoded parameters (Challenges, HeaderValues.EncodeAuthParam); refused if unsafe.
        if (HeaderValues.CheckedOrNull(decision.Challenge) is { Length: > 0 } challenge)
        {
            response.Headers.WWWAuthenticate = challenge;
        }

        response.ContentType = DenialBody.ContentType;
        return response.WriteAsync(DenialBody.Create(decision, _options.IncludeErrorDetails), context.RequestAborted);
    }

    /// <summary>
    /// A snapshot of the request headers plus the HTTP/2 pseudo-headers Envoy's gRPC protocol would show. A copy,
    /// not a view: the request may be read after the HTTP context is recycled (audit runs off the request path).
    /// </summary>
    private sealed class HeaderLookup
    {
        private readonly Dictionary<string, string> _headers;

        public HeaderLookup(HttpRequest request, string target)
        {
            _headers = new Dictionary<string, string>(request.Headers.Count + 4, StringComparer.OrdinalIgnoreCase)
            {
                [":authority"] = request.Host.Value ?? "",
                [":method"] = request.Method,
                [":path"] = target,
                [":scheme"] = request.Scheme,
            };
            foreach (var (name, value) in request.Headers)
            {
                _headers[name] = value.ToString();
            }
        }

        public string? Get(string name) => _headers.GetValueOrDefault(name);
    }
}
