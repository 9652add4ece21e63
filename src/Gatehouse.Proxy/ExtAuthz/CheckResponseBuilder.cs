using Gatehouse.Decisions;
using Gatehouse.Http;
using Gatehouse.Model;
using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.ExtAuthz.Wire.Core;
using Gatehouse.Proxy.ExtAuthz.Wire.Type;
using Google.Protobuf.WellKnownTypes;
using GrpcStatusCode = Grpc.Core.StatusCode;
using RpcStatus = Gatehouse.Proxy.ExtAuthz.Wire.Rpc.Status;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// Builds Envoy's <c>CheckResponse</c> (api/envoy/service/auth/v3/external_auth.proto) from a decision.
/// Envoy allows the request iff <c>status.code</c> is OK; the denial's HTTP status, headers and body come from
/// <c>denied_response</c> (default 403 when unset, so it is always set).
/// </summary>
internal static class CheckResponseBuilder
{
    /// <summary>Namespace-free keys of <c>dynamic_metadata</c> (emitted under <c>envoy.filters.http.ext_authz</c>).</summary>
    public const string MetadataOutcome = "gatehouse_outcome";
    public const string MetadataReasons = "gatehouse_reasons";
    public const string MetadataRoute = "gatehouse_route";
    public const string MetadataPolicy = "gatehouse_policy";
    public const string MetadataActor = "gatehouse_actor";
    public const string MetadataActors = "gatehouse_actors";

    public static CheckResponse Build(Decision decision, ExtAuthzOptions options)
    {
        var response = new CheckResponse
        {
            Status = new RpcStatus
            {
                Code = (int)(decision.Allowed ? GrpcStatusCode.OK : StatusFor(decision.StatusCode)),
                Message = decision.Reasons.Count > 0 ? decision.Reasons[0] : "",
            },
            DynamicMetadata = Metadata(decision),
        };

        if (decision.Allowed)
        {
            var ok = new OkHttpResponse();
            foreach (var (name, value) in HeaderMutations.HeadersToSet(decision))
            {
                ok.Headers.Add(Overwrite(name, value));
            }

            // Envoy removes after it sets (HeaderMutations): never list a name this answer sets. Envoy ignores
            // pseudo-headers and Host here; it matches names lower-cased.
            ok.HeadersToRemove.AddRange(HeaderMutations.HeadersToRemove(decision));

            response.OkResponse = ok;
            return response;
        }

        var denied = new DeniedHttpResponse
        {
            Status = new HttpStatus { Code = (StatusCode)decision.StatusCode },
            Body = DenialBody.Create(decision, options.IncludeErrorDetails),
        };
        // Challenges are built with encoded parameters (Challenges, HeaderValues.EncodeAuthParam); refused if unsafe.
        if (HeaderValues.CheckedOrNull(decision.Challenge) is { Length: > 0 } challenge)
        {
            denied.Headers.Add(Overwrite("www-authenticate", challenge));
        }

        foreach (var (name, value) in decision.ResponseHeaders)
        {
            denied.Headers.Add(Overwrite(name.ToLowerInvariant(), value));
        }

        denied.Headers.Add(Overwrite("content-type", DenialBody.ContentType));
        response.DeniedResponse = denied;
        return response;
    }

    /// <summary>The google.rpc.Code of a denial (grpc doc/statuscodes.md), mirroring the HTTP status.</summary>
    public static GrpcStatusCode StatusFor(int httpStatus) => httpStatus switch
    {
        400 => GrpcStatusCode.InvalidArgument,
        401 => GrpcStatusCode.Unauthenticated,
        404 => GrpcStatusCode.NotFound,
        429 => GrpcStatusCode.ResourceExhausted,
        503 => GrpcStatusCode.Unavailable,
        >= 500 => GrpcStatusCode.Internal,
        _ => GrpcStatusCode.PermissionDenied,
    };

    /// <summary>
    /// <c>append: false</c> (overwrite or add) is explicit: it is honoured by every Envoy version, while the newer
    /// <c>append_action</c> is unknown to old ones. A client-sent header with the same name is replaced, never joined.
    /// </summary>
    private static HeaderValueOption Overwrite(string name, string value) => new()
    {
        Header = new HeaderValue { Key = name.ToLowerInvariant(), Value = value },
        Append = false,
    };

    private static Struct Metadata(Decision decision)
    {
        var reasons = new ListValue();
        foreach (var reason in decision.Reasons)
        {
            reasons.Values.Add(Value.ForString(reason));
        }

        var metadata = new Struct();
        metadata.Fields[MetadataOutcome] = Value.ForString(decision.Allowed ? "allow" : "deny");
        metadata.Fields[MetadataReasons] = new Value { ListValue = reasons };
        if (decision.RouteName is { } route)
        {
            metadata.Fields[MetadataRoute] = Value.ForString(route);
        }

        if (decision.DecidingPolicy is { } policy)
        {
            metadata.Fields[MetadataPolicy] = Value.ForString(policy);
        }

        // RFC 8693 §4.1 delegation chain, current actor first (sub, else client_id of each act).
        if (decision.Principal?.Actors is { Count: > 0 } actors)
        {
            var chain = new ListValue();
            foreach (var actor in actors)
            {
                chain.Values.Add(Value.ForString(actor.Id));
            }

            metadata.Fields[MetadataActor] = Value.ForString(actors[0].Id);
            metadata.Fields[MetadataActors] = new Value { ListValue = chain };
        }

        return metadata;
    }
}
