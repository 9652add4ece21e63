using Gatehouse.Decisions;
using Gatehouse.Identity;
using Gatehouse.Model;

namespace Gatehouse.Policy;

/// <summary>What a policy sees: the request, its normalized path (the one forwarded) and the principal.</summary>
/// <param name="Request">The request being decided.</param>
/// <param name="NormalizedPath">The output of <see cref="Routing.PathNormalizer"/>; <c>to.paths</c> match against it.</param>
/// <param name="Principal">Workload and token identity; <see cref="Principal.Anonymous"/> when neither is present.</param>
public readonly record struct PolicyInput(AuthorizationRequest Request, string NormalizedPath, Principal Principal);
