using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Cli.Commands;

/// <summary>Which listeners the injected sidecar serves, and what it runs.</summary>
/// <param name="ConfigMap">The ConfigMap holding <c>gatehouse.yaml</c>; null: <c>&lt;workload name&gt;-gatehouse</c>.</param>
/// <param name="Inbound">Put the inbound listener in front of the app's port.</param>
/// <param name="Outbound">Give the app the outbound listener (the <c>GATEHOUSE_OUTBOUND</c> hint).</param>
/// <param name="Image">The Gatehouse image reference.</param>
internal sealed record InjectOptions(string? ConfigMap, bool Inbound, bool Outbound, string Image);

/// <summary>
/// The outcome of <see cref="InjectSidecar.Inject"/>: the rewritten stream when no workload was refused (<c>Output</c>
/// is null otherwise: nothing is half-injected), the refusals, and warnings that do not stop the injection.
/// </summary>
internal sealed record InjectResult(string? Output, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings, bool InvalidInput, int Injected, int AlreadyInjected);

/// <summary>
/// Adds the Gatehouse sidecar to Kubernetes workloads the way <c>istioctl kube-inject</c> adds Envoy: the manifests
/// are read, the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets and Pods get a <c>gatehouse</c>
/// container with its volumes and ports, and everything else passes through unchanged.
/// </summary>
/// <remarks>
/// <para>What changes in an injected pod (docs/deployment/kubernetes-sidecar.md, "gatehouse inject"):</para>
/// <list type="bullet">
/// <item>inbound: the app's port (annotation <c>gatehouse.io/app-port</c>, else the app container's first TCP port)
/// moves to the sidecar, which declares it under the same name on <see cref="InboundPort"/>, so Services that name
/// their <c>targetPort</c> reach Gatehouse; app probes that named that port get its number (the kubelet keeps
/// probing the app itself, as Istio's probe rewrite does);</item>
/// <item>outbound: every app container gets <c>GATEHOUSE_OUTBOUND=http://127.0.0.1:15001</c>;</item>
/// <item>the sidecar: config from the ConfigMap, SVIDs from a csi-driver-spiffe volume, a memory <c>/tmp</c>,
/// <c>/readyz</c>/<c>/healthz</c> probes and Prometheus annotations on the admin port, a locked-down
/// securityContext, resources sized from docs/performance.md.</item>
/// </list>
/// <para>Idempotent: a pod that already has a <c>gatehouse</c> container is written back byte for byte, and documents
/// that are not injected keep their text (comments included). Injected documents are re-emitted from the YAML tree, so
/// their comments are dropped, as kube-inject's are.</para>
/// <para>Skipped: workloads annotated <c>gatehouse.io/inject: "false"</c> (non-HTTP servers such as Redis).</para>
/// <para>Refused, with the reason (exit 1): <c>hostNetwork</c> pods (the sidecar's ports would be the node's), a
/// port or volume name the sidecar needs that the pod already uses, an inbound injection without an app port.</para>
/// </remarks>
internal static partial class InjectSidecar
{
    public const int InboundPort = 15006;
    public const int OutboundPort = 15001;
    public const int AdminPort = 15020;
    public const string ContainerName = "gatehouse";
    public const string OutboundVariable = "GATEHOUSE_OUTBOUND";
    public const string InjectedAnnotation = "gatehouse.io/injected";
    public const string AppPortAnnotation = "gatehouse.io/app-port";
    /// <summary><c>"false"</c> on a workload or its pod template: leave it alone (Redis, databases: not HTTP).</summary>
    public const string InjectAnnotation = "gatehouse.io/inject";
    private const string DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container";
    private static readonly string[] s_volumeNames = ["gatehouse-config", "gatehouse-svid", "gatehouse-tmp"];
    private static readonly HashSet<string> s_podTemplateKinds = new(StringComparer.Ordinal) { "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet" };

    // The sidecar as written into the pod. Ports and names are the contract with the config in the ConfigMap
    // (deploy/kubernetes/sidecar/base/gatehouse.yaml). Resources from docs/performance.md: the Native AOT build is
    // ~37 MB resident when ready and stays at 52-56 MB under load with the 48 MiB heap limit (3000000: hex without a 0x prefix, which Native AOT ignores).
    private const string ContainerTemplate = """
        name: gatehouse
        image: IMAGE
        args: [run, -c, /etc/gatehouse/gatehouse.yaml]
        ports:
          - { name: gatehouse-admin, containerPort: 15020, protocol: TCP }
        env:
          - { name: DOTNET_GCHeapHardLimit, value: "3000000" }
        resources:
          requests: { cpu: 50m, memory: 64Mi }
          limits: { memory: 128Mi }
        startupProbe:
          httpGet: { path: /readyz, port: 15020 }
          periodSeconds: 1
          failureThreshold: 60
        readinessProbe:
          httpGet: { path: /readyz, port: 15020 }
          periodSeconds: 5
          failureThreshold: 2
        livenessProbe:
          httpGet: { path: /healthz, port: 15020 }
          periodSeconds: 10
          failureThreshold: 3
        securityContext:
          runAsNonRoot: true
          runAsUser: 65532
          runAsGroup: 65532
          readOnlyRootFilesystem: true
          allowPrivilegeEscalation: false
          privileged: false
          capabilities: { drop: [ALL] }
          seccompProfile: { type: RuntimeDefault }
        volumeMounts:
          - { name: gatehouse-config, mountPath: /etc/gatehouse, readOnly: true }
          - { name: gatehouse-svid, mountPath: /var/run/gatehouse/svid, readOnly: true }
          - { name: gatehouse-tmp, mountPath: /tmp }
        """;

    // csi-driver-spiffe (cert-manager) writes tls.crt, tls.key and ca.crt, group-readable by fs-group.
    private const string VolumesTemplate = """
        - name: gatehouse-config
          configMap: { name: CONFIGMAP }
        - name: gatehouse-svid
          csi:
            driver: spiffe.csi.cert-manager.io
            readOnly: true
            volumeAttributes: { spiffe.csi.cert-manager.io/fs-group: "65532" }
        - name: gatehouse-tmp
          emptyDir: { medium: Memory, sizeLimit: 16Mi }
        """;

    [GeneratedRegex(@"^---(?:[ \t].*)?$")]
    private static partial Regex DocumentSeparator();

    /// <summary>Injects every workload of a (multi-document) YAML stream.</summary>
    public static InjectResult Inject(string yaml, string source, InjectOptions options)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var warnings = new List<string>();
        var output = new StringBuilder();
        var moved = new List<MovedPort>();
        var injectedPods = new List<InjectedPod>();
        var services = new List<(string Name, YamlMappingNode Root)>();
        var configMaps = new List<YamlMappingNode>();
        int injected = 0, already = 0, index = 0;
        foreach (var text in SplitDocuments(yaml))
        {
            index++;
            if (output.Length > 0)
            {
                output.Append("---\n");
            }
            YamlStream stream;
            try
            {
                stream = new YamlStream();
                stream.Load(new StringReader(text));
            }
            catch (YamlException ex)
            {
                errors.Add($"{source}: document {index}, line {ex.Start.Line}: not valid YAML: {ex.Message}");
                return new InjectResult(null, errors, warnings, InvalidInput: true, 0, 0);
            }
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                output.Append(text);
                continue;
            }
            var context = new DocumentContext(source, index, options, errors, warnings, moved, injectedPods);
            var changed = InjectObject(root, context, ref already);
            if (Scalar(root, "kind") == "Service")
            {
                services.Add((Scalar(Map(root, "metadata"), "name") ?? "?", root));
            }
            if (Scalar(root, "kind") == "ConfigMap")
            {
                configMaps.Add(root);
            }
            if (changed > 0)
            {
                injected += changed;
                output.Append(Emit(stream));
            }
            else
            {
                output.Append(text);
            }
        }
        WarnAboutServices(services, moved, source, warnings);
        CheckConfigMaps(configMaps, injectedPods, source, options, errors, warnings);
        return errors.Count > 0
            ? new InjectResult(null, errors, warnings, InvalidInput: false, 0, 0)
            : new InjectResult(output.ToString(), errors, warnings, InvalidInput: false, injected, already);
    }

    /// <summary>Splits a YAML stream at its <c>---</c> lines, keeping each document's text as written.</summary>
    private static List<string> SplitDocuments(string yaml)
    {
        var documents = new List<string>();
        var current = new StringBuilder();
        foreach (var line in yaml.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (DocumentSeparator().IsMatch(line))
            {
                documents.Add(current.ToString());
                current.Clear();
                var rest = line.Length > 3 ? line[3..].Trim() : "";
                if (rest.Length > 0 && !rest.StartsWith('#'))
                {
                    current.Append(rest).Append('\n'); // `--- kind: x` puts content on the separator line
                }
                continue;
            }
            if (line == "...")
            {
                continue;
            }
            current.Append(line).Append('\n');
        }
        documents.Add(current.ToString().TrimEnd('\n') + "\n");
        // A leading `---` leaves an empty first document; blank documents carry nothing.
        return documents.Where(d => d.Trim().Length > 0).ToList();
    }

    private sealed record DocumentContext(string Source, int Index, InjectOptions Options, List<string> Errors, List<string> Warnings, List<MovedPort> Moved, List<InjectedPod> Injected);

    private sealed record InjectedPod(string Where, string? Namespace, string ConfigMap, int AppPort);

    private sealed record MovedPort(string? Namespace, Dictionary<string, string> Labels, int Number, string Name);

    /// <summary>Injects the pod template(s) of one object; returns how many pods it changed.</summary>
    private static int InjectObject(YamlMappingNode root, DocumentContext context, ref int already)
    {
        var kind = Scalar(root, "kind");
        var metadata = Map(root, "metadata");
        var name = $"{kind}/{Scalar(metadata, "name") ?? "?"}";
        if (kind == "List" && root.Children.TryGetValue(new YamlScalarNode("items"), out var items) && items is YamlSequenceNode list)
        {
            var total = 0;
            foreach (var item in list.Children.OfType<YamlMappingNode>())
            {
                total += InjectObject(item, context, ref already);
            }
            return total;
        }
        YamlMappingNode? podMetadata;
        YamlMappingNode? podSpec;
        if (kind == "Pod")
        {
            podMetadata = metadata;
            podSpec = Map(root, "spec");
        }
        else if (kind is not null && s_podTemplateKinds.Contains(kind))
        {
            var template = Map(Map(root, "spec"), "template");
            podMetadata = template is null ? null : GetOrAddMap(template, "metadata");
            podSpec = Map(template, "spec");
        }
        else
        {
            return 0;
        }
        if (podMetadata is null || podSpec is null)
        {
            context.Errors.Add($"{context.Source}: {name}: no pod spec found");
            return 0;
        }
        if (Scalar(Map(metadata, "annotations"), InjectAnnotation) == "false" || Scalar(Map(podMetadata, "annotations"), InjectAnnotation) == "false")
        {
            return 0;
        }
        var before = context.Errors.Count;
        var result = InjectPod(name, Scalar(metadata, "name") ?? "workload", Scalar(metadata, "namespace"), podMetadata, podSpec, context);
        if (result == PodOutcome.AlreadyInjected)
        {
            already++;
            return 0;
        }
        return result == PodOutcome.Injected && context.Errors.Count == before ? 1 : 0;
    }

    private enum PodOutcome { Injected, AlreadyInjected, Refused }

    private static PodOutcome InjectPod(string name, string workload, string? ns, YamlMappingNode podMetadata, YamlMappingNode podSpec, DocumentContext context)
    {
        var where = $"{context.Source}: {name}";
        var containers = Sequence(podSpec, "containers")?.Children.OfType<YamlMappingNode>().ToList() ?? [];
        var initContainers = Sequence(podSpec, "initContainers")?.Children.OfType<YamlMappingNode>().ToList() ?? [];
        if (containers.Concat(initContainers).Any(c => Scalar(c, "name") == ContainerName))
        {
            return PodOutcome.AlreadyInjected;
        }
        var refusals = new List<string>();
        if (Scalar(podSpec, "hostNetwork") == "true")
        {
            refusals.Add("uses hostNetwork: the sidecar's listeners would open on the node itself, and the app's port cannot be put behind Gatehouse; refused");
        }
        if (containers.Count == 0)
        {
            refusals.Add("has no containers");
        }

        // Every port the pod already declares, and the sidecar's own.
        var ours = new List<(int Port, string Role)> { (AdminPort, "admin") };
        if (context.Options.Inbound)
        {
            ours.Add((InboundPort, "inbound"));
        }
        if (context.Options.Outbound)
        {
            ours.Add((OutboundPort, "outbound"));
        }
        foreach (var container in containers.Concat(initContainers))
        {
            foreach (var port in Sequence(container, "ports")?.Children.OfType<YamlMappingNode>() ?? [])
            {
                if (int.TryParse(Scalar(port, "containerPort"), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    foreach (var (taken, role) in ours.Where(o => o.Port == number))
                    {
                        refusals.Add($"container '{Scalar(container, "name")}' already uses port {number}, which the Gatehouse {role} listener needs; refused (the sidecar's ports are fixed: inbound {InboundPort}, outbound {OutboundPort}, admin {AdminPort})");
                    }
                }
            }
        }
        foreach (var volume in Sequence(podSpec, "volumes")?.Children.OfType<YamlMappingNode>() ?? [])
        {
            if (Scalar(volume, "name") is { } volumeName && s_volumeNames.Contains(volumeName))
            {
                refusals.Add($"already has a volume named '{volumeName}', which the sidecar needs; refused");
            }
        }

        // The app container and, for inbound, the port Gatehouse goes in front of.
        var annotations = Map(podMetadata, "annotations");
        var app = containers.FirstOrDefault(c => Scalar(c, "name") == Scalar(annotations, DefaultContainerAnnotation)) ?? containers.FirstOrDefault();
        int appPort = 0;
        YamlMappingNode? appPortNode = null;
        if (context.Options.Inbound && app is not null)
        {
            if (Scalar(annotations, AppPortAnnotation) is { } annotated)
            {
                if (!int.TryParse(annotated, NumberStyles.None, CultureInfo.InvariantCulture, out appPort) || appPort is < 1 or > 65535)
                {
                    refusals.Add($"annotation {AppPortAnnotation}: '{annotated}' is not a port number");
                }
                appPortNode = containers.SelectMany(c => Sequence(c, "ports")?.Children.OfType<YamlMappingNode>() ?? [])
                    .FirstOrDefault(p => Scalar(p, "containerPort") == appPort.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                appPortNode = Sequence(app, "ports")?.Children.OfType<YamlMappingNode>()
                    .FirstOrDefault(p => (Scalar(p, "protocol") ?? "TCP") == "TCP");
                if (appPortNode is null || !int.TryParse(Scalar(appPortNode, "containerPort"), NumberStyles.None, CultureInfo.InvariantCulture, out appPort))
                {
                    refusals.Add($"inbound mode needs the app's port: container '{Scalar(app, "name")}' declares no TCP containerPort; declare it, set the annotation {AppPortAnnotation}, or inject with --mode outbound");
                }
            }
            if (appPortNode is not null && Scalar(appPortNode, "hostPort") is not null)
            {
                refusals.Add($"port {appPort} has a hostPort: traffic to the node's port would bypass Gatehouse; refused");
            }
        }
        if (refusals.Count > 0)
        {
            context.Errors.AddRange(refusals.Select(r => $"{where}: {r}"));
            return PodOutcome.Refused;
        }

        // The sidecar container.
        var sidecar = ParseNode<YamlMappingNode>(ContainerTemplate);
        ((YamlScalarNode)sidecar.Children[new YamlScalarNode("image")]).Value = context.Options.Image;
        var sidecarPorts = (YamlSequenceNode)sidecar.Children[new YamlScalarNode("ports")];
        if (context.Options.Inbound)
        {
            var portName = appPortNode is null ? null : Scalar(appPortNode, "name");
            if (appPortNode is not null)
            {
                // The app's port moves behind the inbound listener: same name, Gatehouse's number.
                foreach (var container in containers)
                {
                    if (Sequence(container, "ports") is { } ports && ports.Children.Remove(appPortNode) && ports.Children.Count == 0)
                    {
                        container.Children.Remove(new YamlScalarNode("ports"));
                    }
                }
            }
            var inbound = new YamlMappingNode(
                new YamlScalarNode("name"), new YamlScalarNode(portName ?? "gatehouse-in"),
                new YamlScalarNode("containerPort"), new YamlScalarNode(InboundPort.ToString(CultureInfo.InvariantCulture)),
                new YamlScalarNode("protocol"), new YamlScalarNode("TCP"))
            { Style = MappingStyle.Flow };
            sidecarPorts.Children.Insert(0, inbound);
            if (portName is not null)
            {
                foreach (var container in containers.Concat(initContainers))
                {
                    RewriteNamedProbePorts(container, portName, appPort);
                }
                context.Moved.Add(new MovedPort(ns, Labels(podMetadata), appPort, portName));
            }
            else
            {
                context.Moved.Add(new MovedPort(ns, Labels(podMetadata), appPort, ""));
            }
        }
        if (context.Options.Outbound)
        {
            foreach (var container in containers)
            {
                var env = GetOrAddSequence(container, "env");
                if (!env.Children.OfType<YamlMappingNode>().Any(e => Scalar(e, "name") == OutboundVariable))
                {
                    env.Children.Add(new YamlMappingNode(
                        new YamlScalarNode("name"), new YamlScalarNode(OutboundVariable),
                        new YamlScalarNode("value"), new YamlScalarNode($"http://127.0.0.1:{OutboundPort}")) { Style = MappingStyle.Flow });
                }
            }
        }
        ((YamlSequenceNode)podSpec.Children[new YamlScalarNode("containers")]).Children.Add(sidecar);
        var volumes = GetOrAddSequence(podSpec, "volumes");
        var configMapName = context.Options.ConfigMap ?? workload + "-gatehouse";
        foreach (var volume in ParseNode<YamlSequenceNode>(VolumesTemplate).Children)
        {
            if (Map((YamlMappingNode)volume, "configMap") is { } configMap)
            {
                ((YamlScalarNode)configMap.Children[new YamlScalarNode("name")]).Value = configMapName;
            }
            volumes.Children.Add(volume);
        }
        context.Injected.Add(new InjectedPod(where, ns, configMapName, appPort));

        // Annotations: what was injected, which container `kubectl logs/exec` picks, where Prometheus scrapes.
        annotations ??= GetOrAddMap(podMetadata, "annotations");
        var modes = string.Join(',', new[] { context.Options.Inbound ? "inbound" : null, context.Options.Outbound ? "outbound" : null }.OfType<string>());
        SetAnnotation(annotations, InjectedAnnotation, modes);
        if (context.Options.Inbound)
        {
            SetAnnotation(annotations, AppPortAnnotation, appPort.ToString(CultureInfo.InvariantCulture));
        }
        if (Scalar(annotations, DefaultContainerAnnotation) is null && app is not null)
        {
            SetAnnotation(annotations, DefaultContainerAnnotation, Scalar(app, "name")!);
        }
        if (Scalar(annotations, "prometheus.io/scrape") is null && Scalar(annotations, "prometheus.io/port") is null)
        {
            SetAnnotation(annotations, "prometheus.io/scrape", "true");
            SetAnnotation(annotations, "prometheus.io/port", AdminPort.ToString(CultureInfo.InvariantCulture));
            SetAnnotation(annotations, "prometheus.io/path", "/metrics");
        }
        else
        {
            context.Warnings.Add($"{where}: the pod already has prometheus.io annotations (the app's metrics); Gatehouse's /metrics on port {AdminPort} is left unannotated");
        }
        return PodOutcome.Injected;
    }

    /// <summary>App probes that named the moved port would now reach Gatehouse (mTLS, a token): they get the number.</summary>
    private static void RewriteNamedProbePorts(YamlMappingNode container, string portName, int appPort)
    {
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
        {
            foreach (var handler in new[] { "httpGet", "tcpSocket", "grpc" })
            {
                if (Map(Map(container, probe), handler) is { } action && Scalar(action, "port") == portName)
                {
                    action.Children[new YamlScalarNode("port")] = new YamlScalarNode(appPort.ToString(CultureInfo.InvariantCulture));
                }
            }
        }
    }

    /// <summary>
    /// When the sidecar's ConfigMap is in the same input, its <c>gatehouse.yaml</c> must agree with the pod the
    /// injector wrote: loaded with the real config loader (every error but files that only exist in the pod), an
    /// inbound listener on <see cref="InboundPort"/>, an outbound one on <c>127.0.0.1:</c><see cref="OutboundPort"/>,
    /// an admin one on <see cref="AdminPort"/> reachable by the kubelet. A mismatch would only show as a pod that
    /// never gets ready, so it is refused here. A ConfigMap outside the input is not checked (a warning says so).
    /// </summary>
    private static void CheckConfigMaps(List<YamlMappingNode> configMaps, List<InjectedPod> pods, string source, InjectOptions options, List<string> errors, List<string> warnings)
    {
        foreach (var group in pods.GroupBy(p => (p.Namespace, p.ConfigMap)))
        {
            var (ns, name) = group.Key;
            var configMap = configMaps.FirstOrDefault(c => Scalar(Map(c, "metadata"), "name") == name && Scalar(Map(c, "metadata"), "namespace") == ns);
            var where = $"{source}: ConfigMap/{name}";
            if (configMap is null)
            {
                warnings.Add($"{source}: ConfigMap/{name} is not in the input, so its gatehouse.yaml was not checked against the injected ports (inbound {InboundPort}, outbound 127.0.0.1:{OutboundPort}, admin {AdminPort})");
                continue;
            }
            if (Scalar(Map(configMap, "data"), "gatehouse.yaml") is not { } yaml)
            {
                errors.Add($"{where}: has no data key gatehouse.yaml, the file the sidecar runs");
                continue;
            }
            var loaded = ConfigLoader.LoadYaml(yaml, $"{where} gatehouse.yaml", Path.GetTempPath(), new Dictionary<string, string>());
            foreach (var error in loaded.Errors.Where(e => !e.Message.StartsWith("file not found", StringComparison.Ordinal)))
            {
                errors.Add(error.ToString());
            }
            if (loaded.Config is null)
            {
                continue;
            }
            var listeners = loaded.Config.Listeners.Select(l => (l.Mode, Address: ListenAddress.TryParse(l.Address, out var endPoint) ? endPoint : null)).ToList();
            bool Has(ListenerMode mode, int port, bool loopbackOnly, bool reachable) => listeners.Any(l =>
                l.Mode == mode && l.Address is { } e && e.Port == port
                && (!loopbackOnly || System.Net.IPAddress.IsLoopback(e.Address))
                && (!reachable || !System.Net.IPAddress.IsLoopback(e.Address)));
            if (options.Inbound && !Has(ListenerMode.Inbound, InboundPort, loopbackOnly: false, reachable: true))
            {
                errors.Add($"{where}: gatehouse.yaml has no inbound listener on 0.0.0.0:{InboundPort}, where the injected sidecar receives the app's traffic");
            }
            if (options.Outbound && !Has(ListenerMode.Outbound, OutboundPort, loopbackOnly: true, reachable: false))
            {
                errors.Add($"{where}: gatehouse.yaml has no outbound listener on 127.0.0.1:{OutboundPort}, the address given to the app as {OutboundVariable}");
            }
            if (!Has(ListenerMode.Admin, AdminPort, loopbackOnly: false, reachable: true))
            {
                errors.Add($"{where}: gatehouse.yaml has no admin listener on 0.0.0.0:{AdminPort}, which the injected probes and Prometheus annotations use");
            }
            if (options.Inbound)
            {
                var inboundRoutes = loaded.Config.Listeners.Where(l => l.Mode == ListenerMode.Inbound).SelectMany(l => l.Routes.Count > 0 ? l.Routes : loaded.Config.Routes.Select(r => r.Name)).ToHashSet(StringComparer.Ordinal);
                foreach (var pod in group)
                {
                    var appUpstreams = new[] { $"http://127.0.0.1:{pod.AppPort}", $"http://localhost:{pod.AppPort}" };
                    if (!loaded.Config.Routes.Any(r => inboundRoutes.Contains(r.Name) && r.Upstream is { } u && appUpstreams.Any(a => u.TrimEnd('/').Equals(a, StringComparison.OrdinalIgnoreCase))))
                    {
                        warnings.Add($"{pod.Where}: no inbound route of ConfigMap/{name} forwards to the app's port (http://127.0.0.1:{pod.AppPort})");
                    }
                }
            }
        }
    }

    /// <summary>A Service that reaches a moved port by number still goes straight to the app: say so.</summary>
    private static void WarnAboutServices(List<(string Name, YamlMappingNode Root)> services, List<MovedPort> moved, string source, List<string> warnings)
    {
        foreach (var (name, service) in services)
        {
            var selector = Map(Map(service, "spec"), "selector");
            if (selector is null)
            {
                continue;
            }
            var ns = Scalar(Map(service, "metadata"), "namespace");
            foreach (var target in moved.Where(m => m.Namespace == ns && selector.Children.All(p => p.Key is YamlScalarNode k && p.Value is YamlScalarNode v && m.Labels.TryGetValue(k.Value!, out var l) && l == v.Value)))
            {
                foreach (var port in Sequence(Map(service, "spec"), "ports")?.Children.OfType<YamlMappingNode>() ?? [])
                {
                    var targetPort = Scalar(port, "targetPort") ?? Scalar(port, "port");
                    if (targetPort == target.Number.ToString(CultureInfo.InvariantCulture))
                    {
                        var fix = target.Name.Length > 0 ? $"targetPort: {target.Name} (or {InboundPort})" : $"targetPort: {InboundPort}";
                        warnings.Add($"{source}: Service/{name}: port {Scalar(port, "port")} targets {target.Number} by number, which is the app itself, not Gatehouse; set {fix}");
                    }
                }
            }
        }
    }

    private static Dictionary<string, string> Labels(YamlMappingNode podMetadata)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Map(podMetadata, "labels") is not { } map)
        {
            return labels;
        }
        foreach (var pair in map.Children)
        {
            if (pair.Key is YamlScalarNode k && pair.Value is YamlScalarNode v)
            {
                labels[k.Value!] = v.Value ?? "";
            }
        }
        return labels;
    }

    private static void SetAnnotation(YamlMappingNode annotations, string key, string value)
    {
        // Annotation values are strings: quoted where YAML would read them as another type ("8080", "true").
        annotations.Children[new YamlScalarNode(key)] = new YamlScalarNode(value) { Style = ScalarStyle.DoubleQuoted };
    }

    private static string Emit(YamlStream stream)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends each document with an explicit "..." marker; the `---` separators are written by Inject.
        if (text.EndsWith("...\n", StringComparison.Ordinal))
        {
            text = text[..^4];
        }
        return text;
    }

    private static T ParseNode<T>(string yaml) where T : YamlNode
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (T)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode? Map(YamlMappingNode? parent, string key) =>
        parent is not null && parent.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node as YamlMappingNode : null;

    private static YamlSequenceNode? Sequence(YamlMappingNode? parent, string key) =>
        parent is not null && parent.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node as YamlSequenceNode : null;

    private static string? Scalar(YamlMappingNode? parent, string key) =>
        parent is not null && parent.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlScalarNode scalar ? scalar.Value : null;

    private static YamlMappingNode GetOrAddMap(YamlMappingNode parent, string key)
    {
        if (Map(parent, key) is { } existing)
        {
            return existing;
        }
        var created = new YamlMappingNode();
        parent.Children[new YamlScalarNode(key)] = created; // replaces a `key: null`
        return created;
    }

    private static YamlSequenceNode GetOrAddSequence(YamlMappingNode parent, string key)
    {
        if (Sequence(parent, key) is { } existing)
        {
            return existing;
        }
        var created = new YamlSequenceNode();
        parent.Children[new YamlScalarNode(key)] = created;
        return created;
    }
}
