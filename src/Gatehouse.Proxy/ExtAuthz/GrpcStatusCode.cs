namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>gRPC status codes (grpc/grpc doc/statuscodes.md; google.rpc.Code).</summary>
internal enum GrpcStatusCode
{
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}
