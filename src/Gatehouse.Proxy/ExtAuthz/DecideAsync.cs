using Gatehouse.Decisions;
using Gatehouse.Model;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>
/// The decision engine as seen by the ext_authz adapters: one call per request. The host passes the engine's
/// evaluate method (and may wrap it with <see cref="CachingDecider.Create"/>). Implementations must not throw for
/// expected outcomes; an exception is treated as an internal error and fails closed (503, never an allow).
/// </summary>
public delegate ValueTask<Decision> DecideAsync(AuthorizationRequest request, CancellationToken cancellationToken);
