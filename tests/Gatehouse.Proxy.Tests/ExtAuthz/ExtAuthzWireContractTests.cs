using Gatehouse.Proxy.ExtAuthz.Wire.Auth;
using Gatehouse.Proxy.ExtAuthz.Wire.Core;
using Gatehouse.Proxy.ExtAuthz.Wire.Type;
using Gatehouse.Proxy.Tests.ExtAuthz.Infrastructure;
using Google.Protobuf.Reflection;

namespace Gatehouse.Proxy.Tests.ExtAuthz;

/// <summary>
/// Pins the full names and field numbers of every message Gatehouse exchanges with Envoy, transcribed from envoy
/// api/envoy/service/auth/v3/{external_auth,attribute_context}.proto, api/envoy/config/core/v3/{base,address}.proto,
/// api/envoy/type/v3/http_status.proto and googleapis google/rpc/status.proto. A renumbered field fails here.
/// </summary>
public sealed class ExtAuthzWireContractTests
{
    public static TheoryData<string, string, int> Fields => new()
    {
        { "envoy.service.auth.v3.CheckRequest", "attributes", 1 },
        { "envoy.service.auth.v3.CheckResponse", "status", 1 },
        { "envoy.service.auth.v3.CheckResponse", "denied_response", 2 },
        { "envoy.service.auth.v3.CheckResponse", "ok_response", 3 },
        { "envoy.service.auth.v3.CheckResponse", "dynamic_metadata", 4 },
        { "envoy.service.auth.v3.DeniedHttpResponse", "status", 1 },
        { "envoy.service.auth.v3.DeniedHttpResponse", "headers", 2 },
        { "envoy.service.auth.v3.DeniedHttpResponse", "body", 3 },
        { "envoy.service.auth.v3.OkHttpResponse", "headers", 2 },
        { "envoy.service.auth.v3.OkHttpResponse", "dynamic_metadata", 3 },
        { "envoy.service.auth.v3.OkHttpResponse", "headers_to_remove", 5 },
        { "envoy.service.auth.v3.OkHttpResponse", "response_headers_to_add", 6 },
        { "envoy.service.auth.v3.AttributeContext", "source", 1 },
        { "envoy.service.auth.v3.AttributeContext", "destination", 2 },
        { "envoy.service.auth.v3.AttributeContext", "request", 4 },
        { "envoy.service.auth.v3.AttributeContext", "context_extensions", 10 },
        { "envoy.service.auth.v3.AttributeContext", "metadata_context", 11 },
        { "envoy.service.auth.v3.AttributeContext", "tls_session", 12 },
        { "envoy.service.auth.v3.AttributeContext", "route_metadata_context", 13 },
        { "envoy.service.auth.v3.AttributeContext.Peer", "address", 1 },
        { "envoy.service.auth.v3.AttributeContext.Peer", "service", 2 },
        { "envoy.service.auth.v3.AttributeContext.Peer", "labels", 3 },
        { "envoy.service.auth.v3.AttributeContext.Peer", "principal", 4 },
        { "envoy.service.auth.v3.AttributeContext.Peer", "certificate", 5 },
        { "envoy.service.auth.v3.AttributeContext.Request", "time", 1 },
        { "envoy.service.auth.v3.AttributeContext.Request", "http", 2 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "id", 1 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "method", 2 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "headers", 3 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "path", 4 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "host", 5 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "scheme", 6 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "query", 7 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "fragment", 8 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "size", 9 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "protocol", 10 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "body", 11 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "raw_body", 12 },
        { "envoy.service.auth.v3.AttributeContext.HttpRequest", "header_map", 13 },
        { "envoy.service.auth.v3.AttributeContext.TLSSession", "sni", 1 },
        { "envoy.config.core.v3.Address", "socket_address", 1 },
        { "envoy.config.core.v3.Address", "pipe", 2 },
        { "envoy.config.core.v3.SocketAddress", "protocol", 1 },
        { "envoy.config.core.v3.SocketAddress", "address", 2 },
        { "envoy.config.core.v3.SocketAddress", "port_value", 3 },
        { "envoy.config.core.v3.SocketAddress", "named_port", 4 },
        { "envoy.config.core.v3.HeaderValue", "key", 1 },
        { "envoy.config.core.v3.HeaderValue", "value", 2 },
        { "envoy.config.core.v3.HeaderValue", "raw_value", 3 },
        { "envoy.config.core.v3.HeaderValueOption", "header", 1 },
        { "envoy.config.core.v3.HeaderValueOption", "append", 2 },
        { "envoy.config.core.v3.HeaderValueOption", "append_action", 3 },
        { "envoy.config.core.v3.HeaderValueOption", "keep_empty_value", 4 },
        { "envoy.config.core.v3.HeaderMap", "headers", 1 },
        { "envoy.config.core.v3.Metadata", "filter_metadata", 1 },
        { "envoy.type.v3.HttpStatus", "code", 1 },
        { "google.rpc.Status", "code", 1 },
        { "google.rpc.Status", "message", 2 },
        { "google.rpc.Status", "details", 3 },
    };

    private static readonly Dictionary<string, MessageDescriptor> s_messages = Index(
        ExternalAuthReflection.Descriptor, AttributeContextReflection.Descriptor, BaseReflection.Descriptor,
        AddressReflection.Descriptor, HttpStatusReflection.Descriptor, Gatehouse.Proxy.ExtAuthz.Wire.Rpc.StatusReflection.Descriptor);

    [Theory]
    [MemberData(nameof(Fields))]
    public void FieldNumber_MatchesEnvoy(string message, string field, int number)
    {
        var descriptor = Find(message);
        Assert.NotNull(descriptor);
        var fieldDescriptor = descriptor.FindFieldByName(field);
        Assert.NotNull(fieldDescriptor);
        Assert.Equal(number, fieldDescriptor.FieldNumber);
    }

    [Fact]
    public void ServiceMethod_IsEnvoyCheck()
    {
        var service = ExternalAuthReflection.Descriptor.Services.Single();
        Assert.Equal("envoy.service.auth.v3.Authorization", service.FullName);
        Assert.Equal("Check", service.Methods.Single().Name);
        Assert.Equal(GrpcTestClient.CheckPath, "/" + service.FullName + "/" + service.Methods.Single().Name);
        // The generated server base (GrpcServices="Server") binds the same service.
        Assert.Equal(service.FullName, Authorization.Descriptor.FullName);
    }

    [Fact]
    public void HeaderAppendAction_ValuesMatchEnvoy()
    {
        Assert.Equal(2, (int)HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd);
        Assert.Equal(3, (int)HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExists);
    }

    private static MessageDescriptor? Find(string fullName) => s_messages.GetValueOrDefault(fullName);

    private static Dictionary<string, MessageDescriptor> Index(params FileDescriptor[] files)
    {
        var index = new Dictionary<string, MessageDescriptor>(StringComparer.Ordinal);
        void Add(MessageDescriptor message)
        {
            index[message.FullName] = message;
            foreach (var nested in message.NestedTypes)
            {
                Add(nested);
            }
        }

        foreach (var file in files)
        {
            foreach (var message in file.MessageTypes)
            {
                Add(message);
            }
        }

        return index;
    }
}
