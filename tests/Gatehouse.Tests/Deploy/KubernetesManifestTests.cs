using System.Globalization;
using System.Text.RegularExpressions;
using Gatehouse.Cli.Commands;
using Gatehouse.Configuration;
using k8s;
using k8s.Models;

namespace Gatehouse.Tests.Deploy;

/// <summary>
/// Every kustomize base and overlay under deploy/kubernetes renders with <c>kubectl kustomize</c>, loads into the
/// KubernetesClient typed model with unknown fields refused (a misspelt or misplaced field is an error, as
/// <c>kubectl apply --validate=strict</c> would make it), and holds the invariants a platform team checks before
/// adopting a mesh component: probes on the admin endpoints, non-root and locked down, no <c>latest</c> image, every
/// referenced ConfigMap/Secret/volume present, selectors that select, and a Gatehouse config that passes
/// <c>check</c> through the real config loader with its files under the container's mounts.
/// </summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly string[] s_directories =
    [
        "deploy/kubernetes/gateway/base",
        "deploy/kubernetes/gateway/overlays/production",
        "deploy/kubernetes/sidecar/base",
        "deploy/kubernetes/sidecar/overlays/spire",
        "deploy/kubernetes/ext-authz/base",
        "deploy/kubernetes/ext-authz/overlays/istio",
    ];

    public static TheoryData<string> Directories() => new(s_directories);

    [GeneratedRegex(@"'(/[^']+)'")]
    private static partial Regex QuotedPath();

    [Fact]
    public void EveryKustomizationUnderDeploy_IsTested()
    {
        var found = Directory.EnumerateFiles(DeployFiles.Of("deploy", "kubernetes"), "kustomization.yaml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(DeployFiles.Root, Path.GetDirectoryName(f)!).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        Assert.Equal(s_directories.Order(StringComparer.Ordinal), found);
    }

    [Theory]
    [MemberData(nameof(Directories))]
    public async Task Kustomization_RendersIntoTheTypedModel_AndHoldsTheInvariants(string directory)
    {
        var rendered = await DeployFiles.KustomizeAsync(directory);
        var objects = KubernetesYaml.LoadAllFromString(rendered, typeMap: null, strict: true);
        var problems = new List<string>();

        var configMaps = objects.OfType<V1ConfigMap>().ToDictionary(c => Key(c.Metadata), c => c);
        var secrets = objects.OfType<V1Secret>().Select(s => Key(s.Metadata)).ToHashSet();
        var deployments = objects.OfType<V1Deployment>().ToList();
        Assert.NotEmpty(deployments);
        var gatehouseContainers = 0;
        foreach (var deployment in deployments)
        {
            var where = $"Deployment/{deployment.Metadata.Name}";
            var template = deployment.Spec.Template;
            if (!Matches(deployment.Spec.Selector.MatchLabels, template.Metadata.Labels))
            {
                problems.Add($"{where}: spec.selector does not select its own pod template");
            }
            gatehouseContainers += CheckPod(where, deployment.Metadata.NamespaceProperty, template, configMaps, secrets, directory, problems);
        }
        Assert.True(gatehouseContainers > 0, $"{directory}: no Gatehouse container rendered");

        foreach (var service in objects.OfType<V1Service>())
        {
            var pods = deployments.Where(d => d.Metadata.NamespaceProperty == service.Metadata.NamespaceProperty && Matches(service.Spec.Selector, d.Spec.Template.Metadata.Labels)).ToList();
            if (pods.Count == 0)
            {
                problems.Add($"Service/{service.Metadata.Name}: its selector matches no pod template");
            }
            foreach (var port in service.Spec.Ports)
            {
                var target = port.TargetPort?.Value ?? port.Port.ToString(CultureInfo.InvariantCulture);
                if (pods.Count > 0 && !pods.All(d => d.Spec.Template.Spec.Containers.SelectMany(c => c.Ports ?? []).Any(p => p.Name == target || p.ContainerPort.ToString(CultureInfo.InvariantCulture) == target)))
                {
                    problems.Add($"Service/{service.Metadata.Name}: targetPort {target} is no container port of the pods it selects");
                }
            }
        }
        foreach (var pdb in objects.OfType<V1PodDisruptionBudget>())
        {
            if (!deployments.Any(d => Matches(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)))
            {
                problems.Add($"PodDisruptionBudget/{pdb.Metadata.Name}: its selector matches no pod template");
            }
        }
        foreach (var hpa in objects.OfType<V2HorizontalPodAutoscaler>())
        {
            var target = deployments.FirstOrDefault(d => d.Metadata.Name == hpa.Spec.ScaleTargetRef.Name && hpa.Spec.ScaleTargetRef.Kind == "Deployment");
            if (target is null)
            {
                problems.Add($"HorizontalPodAutoscaler/{hpa.Metadata.Name}: scales {hpa.Spec.ScaleTargetRef.Kind}/{hpa.Spec.ScaleTargetRef.Name}, which is not rendered");
            }
            else if (target.Spec.Replicas is not null)
            {
                problems.Add($"Deployment/{target.Metadata.Name}: sets replicas although an HPA owns the count (every apply would reset it)");
            }
            else if (target.Spec.Template.Spec.Containers.Any(c => c.Resources?.Requests?.ContainsKey("cpu") != true))
            {
                problems.Add($"HorizontalPodAutoscaler/{hpa.Metadata.Name}: CPU utilization needs CPU requests on every container");
            }
        }

        Assert.True(problems.Count == 0, $"{directory}:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void SidecarBase_IsWhatInjectWritesFromTheAppManifest()
    {
        var app = File.ReadAllText(DeployFiles.Of("deploy", "kubernetes", "sidecar", "base", "app.yaml"));
        var result = InjectSidecar.Inject(app, "app.yaml", new InjectOptions("orders-gatehouse", Inbound: true, Outbound: true, Image: "gatehouse"));
        Assert.Empty(result.Errors);

        var injected = KubernetesYaml.LoadAllFromString(result.Output!, typeMap: null, strict: true).Single();
        var committed = KubernetesYaml.LoadAllFromString(File.ReadAllText(DeployFiles.Of("deploy", "kubernetes", "sidecar", "base", "deployment.yaml")), typeMap: null, strict: true).Single();
        Assert.Equal(KubernetesYaml.Serialize(committed), KubernetesYaml.Serialize(injected));
    }

    /// <summary>Checks one pod template; returns how many Gatehouse containers it has.</summary>
    private static int CheckPod(string where, string? ns, V1PodTemplateSpec template, Dictionary<(string?, string), V1ConfigMap> configMaps, HashSet<(string?, string)> secrets, string directory, List<string> problems)
    {
        var pod = template.Spec;
        var volumes = (pod.Volumes ?? []).ToDictionary(v => v.Name, v => v);
        if (pod.HostNetwork == true || pod.HostPID == true || pod.HostIPC == true)
        {
            problems.Add($"{where}: shares a host namespace");
        }
        foreach (var volume in volumes.Values)
        {
            if (volume.ConfigMap is { } cm && !configMaps.ContainsKey((ns, cm.Name)))
            {
                problems.Add($"{where}: volume {volume.Name} references ConfigMap {cm.Name}, which is not rendered");
            }
            if (volume.Secret is { } secret && !secrets.Contains((ns, secret.SecretName)))
            {
                problems.Add($"{where}: volume {volume.Name} references Secret {secret.SecretName}, which is not rendered");
            }
            foreach (var source in volume.Projected?.Sources ?? [])
            {
                if (source.ConfigMap is { } pcm && !configMaps.ContainsKey((ns, pcm.Name)))
                {
                    problems.Add($"{where}: volume {volume.Name} projects ConfigMap {pcm.Name}, which is not rendered");
                }
                if (source.Secret is { } ps && !secrets.Contains((ns, ps.Name)))
                {
                    problems.Add($"{where}: volume {volume.Name} projects Secret {ps.Name}, which is not rendered");
                }
            }
            if (volume.HostPath is not null)
            {
                problems.Add($"{where}: volume {volume.Name} is a hostPath");
            }
        }

        var gatehouse = 0;
        foreach (var container in (pod.InitContainers ?? []).Concat(pod.Containers))
        {
            var at = $"{where} container {container.Name}";
            foreach (var mount in container.VolumeMounts ?? [])
            {
                if (!volumes.ContainsKey(mount.Name))
                {
                    problems.Add($"{at}: mounts volume {mount.Name}, which the pod does not define");
                }
                if (!string.IsNullOrEmpty(mount.SubPath))
                {
                    problems.Add($"{at}: mounts {mount.Name} with subPath, which the kubelet never updates (rotated SVIDs and config would go stale)");
                }
            }
            foreach (var env in container.Env ?? [])
            {
                if (env.ValueFrom?.ConfigMapKeyRef is { } cmRef && cmRef.Optional != true && !configMaps.ContainsKey((ns, cmRef.Name)))
                {
                    problems.Add($"{at}: env {env.Name} references ConfigMap {cmRef.Name}, which is not rendered");
                }
                if (env.ValueFrom?.SecretKeyRef is { } sRef && sRef.Optional != true && !secrets.Contains((ns, sRef.Name)))
                {
                    problems.Add($"{at}: env {env.Name} references Secret {sRef.Name}, which is not rendered");
                }
            }
            if (!HasPinnedTag(container.Image))
            {
                problems.Add($"{at}: image '{container.Image}' has no tag or uses latest");
            }
            var security = container.SecurityContext;
            if ((security?.RunAsNonRoot ?? pod.SecurityContext?.RunAsNonRoot) != true)
            {
                problems.Add($"{at}: runAsNonRoot is not true");
            }
            if ((security?.RunAsUser ?? pod.SecurityContext?.RunAsUser) == 0)
            {
                problems.Add($"{at}: runs as UID 0");
            }
            if (security?.AllowPrivilegeEscalation != false || security.ReadOnlyRootFilesystem != true || security.Privileged == true
                || security.Capabilities?.Drop?.Contains("ALL") != true || (security.Capabilities.Add?.Count ?? 0) > 0)
            {
                problems.Add($"{at}: securityContext is not locked down (allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities.drop: [ALL], none added)");
            }
            if ((security?.SeccompProfile?.Type ?? pod.SecurityContext?.SeccompProfile?.Type) != "RuntimeDefault")
            {
                problems.Add($"{at}: no RuntimeDefault seccomp profile");
            }
            if (container.Resources?.Requests?.ContainsKey("memory") != true || container.Resources.Limits?.ContainsKey("memory") != true)
            {
                problems.Add($"{at}: memory request and limit are required");
            }
            if (IsGatehouse(container))
            {
                gatehouse++;
                CheckGatehouse(at, container, template, volumes, configMaps, ns, directory, problems);
            }
        }
        return gatehouse;
    }

    private static void CheckGatehouse(string at, V1Container container, V1PodTemplateSpec template, Dictionary<string, V1Volume> volumes, Dictionary<(string?, string), V1ConfigMap> configMaps, string? ns, string directory, List<string> problems)
    {
        int? PortOf(IntOrString? port) => port?.Value is not { } value ? null
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number
            : container.Ports?.FirstOrDefault(p => p.Name == value)?.ContainerPort;

        var readiness = container.ReadinessProbe?.HttpGet;
        var liveness = container.LivenessProbe?.HttpGet;
        if (readiness?.Path != "/readyz" || liveness?.Path != "/healthz")
        {
            problems.Add($"{at}: readiness must GET /readyz and liveness /healthz");
        }
        var adminPort = PortOf(readiness?.Port);
        if (adminPort is null || PortOf(liveness?.Port) != adminPort || container.Ports?.Any(p => p.ContainerPort == adminPort) != true)
        {
            problems.Add($"{at}: probes must use one declared admin port");
        }
        if (container.Resources?.Requests?.ContainsKey("cpu") != true)
        {
            problems.Add($"{at}: CPU request missing");
        }
        var annotations = template.Metadata.Annotations ?? new Dictionary<string, string>();
        if (!annotations.TryGetValue("prometheus.io/scrape", out var scrape) || scrape != "true"
            || !annotations.TryGetValue("prometheus.io/port", out var scrapePort) || scrapePort != adminPort?.ToString(CultureInfo.InvariantCulture)
            || !annotations.TryGetValue("prometheus.io/path", out var path) || path != "/metrics")
        {
            problems.Add($"{at}: Prometheus scrape annotations must point at the admin port's /metrics");
        }

        // The config: `run -c FILE`, FILE in a ConfigMap volume mounted in this container.
        var args = container.Args ?? [];
        var configIndex = args.IndexOf("-c") + 1;
        if (args.FirstOrDefault() != "run" || configIndex == 0 || configIndex >= args.Count)
        {
            problems.Add($"{at}: args must be [run, -c, FILE]");
            return;
        }
        var configPath = args[configIndex];
        var mounts = container.VolumeMounts ?? [];
        var configMount = mounts.FirstOrDefault(m => configPath.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal));
        if (configMount is null || !volumes.TryGetValue(configMount.Name, out var configVolume) || configVolume.ConfigMap is null
            || !configMaps.TryGetValue((ns, configVolume.ConfigMap.Name), out var configMap)
            || configMap.Data?.TryGetValue(configPath[(configMount.MountPath.TrimEnd('/').Length + 1)..], out var yaml) != true)
        {
            problems.Add($"{at}: {configPath} is not a key of a mounted ConfigMap");
            return;
        }

        var result = ConfigLoader.LoadYaml(yaml!, $"{directory} ConfigMap/{configMap.Metadata.Name}", Path.GetTempPath(), new Dictionary<string, string>());
        bool UnderAMount(string file) => mounts.Any(m => file.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal));
        foreach (var error in result.Errors)
        {
            // Files that only exist in the pod (SVIDs from a CSI volume) are the one error allowed, and only where a
            // volume is mounted; anything else is a real config error.
            var missing = error.Message.StartsWith("file not found", StringComparison.Ordinal) ? QuotedPath().Match(error.Message) : null;
            if (missing is null || !missing.Success || !UnderAMount(missing.Groups[1].Value))
            {
                problems.Add($"{at}: gatehouse check: {error}");
            }
        }
        foreach (var file in result.ReferencedFiles.Where(f => !UnderAMount(f)))
        {
            problems.Add($"{at}: the config reads {file}, which no volume of the container provides");
        }
        foreach (var listener in result.Config?.Listeners ?? [])
        {
            var separator = listener.Address.LastIndexOf(':');
            var host = listener.Address[..separator];
            var port = int.Parse(listener.Address[(separator + 1)..], CultureInfo.InvariantCulture);
            if (host != "127.0.0.1" && container.Ports?.Any(p => p.ContainerPort == port) != true)
            {
                problems.Add($"{at}: listener {listener.Name} listens on {listener.Address}, which the container does not declare");
            }
            if (listener.Mode == ListenerMode.Admin && port != adminPort)
            {
                problems.Add($"{at}: the admin listener is on {port} but the probes use {adminPort}");
            }
        }
        if (result.Config?.Listeners.Any(l => l.Mode == ListenerMode.Admin) != true)
        {
            problems.Add($"{at}: the config has no admin listener for the probes");
        }
    }

    private static bool IsGatehouse(V1Container container) =>
        container.Name == "gatehouse" || container.Image.Split('@')[0].Split(':')[0].EndsWith("/gatehouse", StringComparison.Ordinal);

    private static bool HasPinnedTag(string image)
    {
        if (image.Contains("@sha256:", StringComparison.Ordinal))
        {
            return true;
        }
        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var colon = lastSegment.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && lastSegment[(colon + 1)..] is { Length: > 0 } tag && tag != "latest";
    }

    private static bool Matches(IDictionary<string, string>? selector, IDictionary<string, string>? labels) =>
        selector is { Count: > 0 } && labels is not null && selector.All(p => labels.TryGetValue(p.Key, out var value) && value == p.Value);

    private static (string?, string) Key(V1ObjectMeta metadata) => (metadata.NamespaceProperty, metadata.Name);
}
