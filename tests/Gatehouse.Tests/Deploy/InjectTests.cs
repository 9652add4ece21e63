using System.Diagnostics;
using Gatehouse.Cli.Commands;
using Gatehouse.Tests.Cli;
using k8s;
using k8s.Models;

namespace Gatehouse.Tests.Deploy;

/// <summary>
/// <c>gatehouse inject</c> on manifests written from real projects' published ones (Istio's Bookinfo, the Kubernetes
/// guestbook): every output is loaded back into the KubernetesClient typed model with unknown fields refused, the
/// sidecar is where kube-inject would put it, a second injection changes nothing, and unsafe pods are refused.
/// </summary>
public sealed class InjectTests
{
    private static readonly InjectOptions s_both = new("app-gatehouse", Inbound: true, Outbound: true, Image: "registry.example.com/gatehouse:1.0.0");

    [Fact]
    public void Bookinfo_EveryDeploymentGetsTheSidecar_AndTheOutputLoadsIntoTheTypedModel()
    {
        var input = DeployFiles.Manifest("bookinfo.yaml");
        var result = InjectSidecar.Inject(input, "bookinfo.yaml", s_both with { ConfigMap = null });

        Assert.Empty(result.Errors);
        Assert.Equal(6, result.Injected);
        var objects = KubernetesYaml.LoadAllFromString(result.Output!, typeMap: null, strict: true);
        var before = KubernetesYaml.LoadAllFromString(input, typeMap: null, strict: true);
        Assert.Equal(before.Select(o => o.GetType()), objects.Select(o => o.GetType()));

        foreach (var deployment in objects.OfType<V1Deployment>())
        {
            var pod = deployment.Spec.Template.Spec;
            var app = pod.Containers[0];
            var sidecar = Assert.Single(pod.Containers, c => c.Name == "gatehouse");
            Assert.Equal(2, pod.Containers.Count);
            Assert.Equal("registry.example.com/gatehouse:1.0.0", sidecar.Image);
            // The app's port 9080 moved behind the inbound listener; the app learns where the outbound listener is.
            Assert.Null(app.Ports);
            Assert.Contains(sidecar.Ports, p => p.ContainerPort == InjectSidecar.InboundPort && p.Name == "gatehouse-in");
            Assert.Contains(app.Env, e => e.Name == "GATEHOUSE_OUTBOUND" && e.Value == "http://127.0.0.1:15001");
            Assert.Equal("9080", deployment.Spec.Template.Metadata.Annotations[InjectSidecar.AppPortAnnotation]);
            Assert.Equal("inbound,outbound", deployment.Spec.Template.Metadata.Annotations[InjectSidecar.InjectedAnnotation]);
            Assert.Equal(app.Name, deployment.Spec.Template.Metadata.Annotations["kubectl.kubernetes.io/default-container"]);
            // Default ConfigMap: <workload>-gatehouse; every mount has its volume; the app's own volumes are kept.
            Assert.Contains(pod.Volumes, v => v.Name == "gatehouse-config" && v.ConfigMap.Name == deployment.Metadata.Name + "-gatehouse");
            Assert.All(pod.Containers.SelectMany(c => c.VolumeMounts ?? []), m => Assert.Contains(pod.Volumes, v => v.Name == m.Name));
            Assert.Equal("/readyz", sidecar.ReadinessProbe.HttpGet.Path);
            Assert.Equal("/healthz", sidecar.LivenessProbe.HttpGet.Path);
            Assert.True(sidecar.SecurityContext.RunAsNonRoot);
            Assert.True(sidecar.SecurityContext.ReadOnlyRootFilesystem);
        }
        var reviews = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "reviews-v1").Spec.Template.Spec;
        Assert.Contains(reviews.Volumes, v => v.Name == "wlp-output");

        // productpage keeps its own Prometheus annotations, and says so; the Services reach 9080 by number (no
        // targetPort), which is the app itself: each is named in a warning.
        var productpage = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "productpage-v1");
        Assert.Equal("9080", productpage.Spec.Template.Metadata.Annotations["prometheus.io/port"]);
        Assert.Contains(result.Warnings, w => w.Contains("Deployment/productpage-v1", StringComparison.Ordinal) && w.Contains("prometheus.io", StringComparison.Ordinal));
        foreach (var service in new[] { "details", "ratings", "reviews", "productpage" })
        {
            Assert.Contains(result.Warnings, w => w.Contains($"Service/{service}: port 9080 targets 9080 by number", StringComparison.Ordinal));
        }

        // Services and ServiceAccounts pass through as written.
        Assert.Equal(
            before.OfType<V1Service>().Select(s => KubernetesYaml.Serialize(s)),
            objects.OfType<V1Service>().Select(s => KubernetesYaml.Serialize(s)));
    }

    [Fact]
    public void Guestbook_RedisIsLeftAlone_TheFrontendProbeKeepsReachingTheApp()
    {
        var input = DeployFiles.Manifest("guestbook.yaml");
        var result = InjectSidecar.Inject(input, "guestbook.yaml", s_both);

        Assert.Empty(result.Errors);
        Assert.Equal(1, result.Injected);
        var objects = KubernetesYaml.LoadAllFromString(result.Output!, typeMap: null, strict: true);
        var redis = objects.OfType<V1Deployment>().Where(d => d.Metadata.Name.StartsWith("redis-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, redis.Count);
        Assert.All(redis, d => Assert.Single(d.Spec.Template.Spec.Containers));

        var frontend = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "frontend").Spec.Template.Spec;
        var app = frontend.Containers.Single(c => c.Name == "php-redis");
        var sidecar = frontend.Containers.Single(c => c.Name == "gatehouse");
        // The named port `http` now belongs to the inbound listener, so Service/frontend (targetPort: http) reaches
        // Gatehouse; the app's readiness probe, which named it, gets the app's own number.
        Assert.Contains(sidecar.Ports, p => p.Name == "http" && p.ContainerPort == InjectSidecar.InboundPort);
        Assert.Null(app.Ports);
        Assert.Equal("80", app.ReadinessProbe.HttpGet.Port.Value);
        Assert.DoesNotContain(result.Warnings, w => w.Contains("Service/frontend", StringComparison.Ordinal));
        Assert.Contains(frontend.Volumes, v => v.Name == "gatehouse-config" && v.ConfigMap.Name == "app-gatehouse");
    }

    [Theory]
    [InlineData("bookinfo.yaml")]
    [InlineData("guestbook.yaml")]
    public void InjectingTwice_ChangesNothing_EvenAfterATripThroughTheTypedModel(string manifest)
    {
        var once = InjectSidecar.Inject(DeployFiles.Manifest(manifest), manifest, s_both).Output!;
        var twice = InjectSidecar.Inject(once, manifest, s_both);
        Assert.Equal(once, twice.Output);
        Assert.Equal(0, twice.Injected);
        Assert.True(twice.AlreadyInjected > 0);

        // What kubectl would send back (the typed model's serialization) is recognised as injected too.
        var typed = string.Join("\n---\n", KubernetesYaml.LoadAllFromString(once, typeMap: null, strict: true).Select(o => KubernetesYaml.Serialize(o).TrimEnd('\n')));
        var again = InjectSidecar.Inject(typed, manifest, s_both);
        Assert.Empty(again.Errors);
        Assert.Equal(0, again.Injected);
        Assert.Equal(typed.TrimEnd('\n'), again.Output!.TrimEnd('\n'));
    }

    [Fact]
    public void ConfigMapInTheInput_IsCheckedAgainstTheInjectedPorts()
    {
        var app = File.ReadAllText(DeployFiles.Of("deploy", "kubernetes", "sidecar", "base", "app.yaml"));
        var config = File.ReadAllText(DeployFiles.Of("deploy", "kubernetes", "sidecar", "base", "gatehouse.yaml"));
        var options = s_both with { ConfigMap = "orders-gatehouse" };

        var agreeing = InjectSidecar.Inject(app + "---\n" + ConfigMap("orders-gatehouse", config), "orders.yaml", options);
        Assert.Empty(agreeing.Errors);
        Assert.DoesNotContain(agreeing.Warnings, w => w.Contains("ConfigMap/orders-gatehouse", StringComparison.Ordinal));

        // The admin listener on another port: the injected probes would never see the pod ready.
        var wrongAdmin = InjectSidecar.Inject(app + "---\n" + ConfigMap("orders-gatehouse", config.Replace("0.0.0.0:15020", "0.0.0.0:9901", StringComparison.Ordinal)), "orders.yaml", options);
        Assert.Null(wrongAdmin.Output);
        Assert.Contains(wrongAdmin.Errors, e => e.Contains("ConfigMap/orders-gatehouse: gatehouse.yaml has no admin listener on 0.0.0.0:15020", StringComparison.Ordinal));

        // An invalid config is reported with check's FILE:LINE:COL errors.
        var invalid = InjectSidecar.Inject(app + "---\n" + ConfigMap("orders-gatehouse", config.Replace("action: allow", "action: permit", StringComparison.Ordinal)), "orders.yaml", options);
        Assert.Contains(invalid.Errors, e => e.Contains("orders.yaml: ConfigMap/orders-gatehouse gatehouse.yaml:", StringComparison.Ordinal) && e.Contains("action", StringComparison.Ordinal));

        // The inbound route forwarding elsewhere than the app's port is worth a warning, not a refusal.
        var otherPort = InjectSidecar.Inject(app + "---\n" + ConfigMap("orders-gatehouse", config.Replace("http://127.0.0.1:8080", "http://127.0.0.1:8081", StringComparison.Ordinal)), "orders.yaml", options);
        Assert.Empty(otherPort.Errors);
        Assert.Contains(otherPort.Warnings, w => w.Contains("no inbound route of ConfigMap/orders-gatehouse forwards to the app's port (http://127.0.0.1:8080)", StringComparison.Ordinal));

        // Not in the input: said, not guessed.
        Assert.Contains(InjectSidecar.Inject(app, "orders.yaml", options).Warnings, w => w.Contains("ConfigMap/orders-gatehouse is not in the input", StringComparison.Ordinal));
    }

    private static string ConfigMap(string name, string gatehouseYaml) =>
        $"apiVersion: v1\nkind: ConfigMap\nmetadata: {{ name: {name} }}\ndata:\n  gatehouse.yaml: |\n"
        + string.Concat(gatehouseYaml.Split('\n').Select(l => l.Length == 0 ? "\n" : "    " + l + "\n"));

    [Fact]
    public void HostNetworkPod_IsRefused_AndNothingIsWritten()
    {
        const string pod = """
            apiVersion: v1
            kind: Pod
            metadata: { name: node-agent }
            spec:
              hostNetwork: true
              containers:
                - { name: agent, image: "example/agent:1.0", ports: [{ containerPort: 8080 }] }
            """;
        var result = InjectSidecar.Inject(pod + "\n---\n" + DeployFiles.Manifest("guestbook.yaml"), "in.yaml", s_both);

        Assert.Null(result.Output);
        var error = Assert.Single(result.Errors);
        Assert.Contains("Pod/node-agent", error, StringComparison.Ordinal);
        Assert.Contains("hostNetwork", error, StringComparison.Ordinal);
        Assert.False(result.InvalidInput);
    }

    [Theory]
    [InlineData(15020, "admin")]
    [InlineData(15006, "inbound")]
    [InlineData(15001, "outbound")]
    public void PortClash_IsRefused_NamingTheContainerAndThePort(int port, string role)
    {
        var deployment = $$"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: { name: api }
            spec:
              selector: { matchLabels: { app: api } }
              template:
                metadata: { labels: { app: api } }
                spec:
                  containers:
                    - name: api
                      image: "example/api:2.1"
                      ports: [{ name: http, containerPort: 8080 }]
                    - name: metrics
                      image: "example/exporter:0.9"
                      ports: [{ containerPort: {{port}} }]
            """;
        var result = InjectSidecar.Inject(deployment, "api.yaml", s_both);

        Assert.Null(result.Output);
        var error = Assert.Single(result.Errors);
        Assert.Contains($"container 'metrics' already uses port {port}, which the Gatehouse {role} listener needs", error, StringComparison.Ordinal);
    }

    [Fact]
    public void InboundWithoutAnAppPort_IsRefused_ButOutboundOnlyWorks()
    {
        const string worker = """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: { name: worker, namespace: jobs }
            spec:
              serviceName: worker
              selector: { matchLabels: { app: worker } }
              template:
                metadata: { labels: { app: worker } }
                spec:
                  containers:
                    - { name: worker, image: "example/worker:3.0" }
            """;
        var refused = InjectSidecar.Inject(worker, "worker.yaml", s_both);
        Assert.Null(refused.Output);
        Assert.Contains("inbound mode needs the app's port", Assert.Single(refused.Errors), StringComparison.Ordinal);

        var outbound = InjectSidecar.Inject(worker, "worker.yaml", s_both with { Inbound = false });
        Assert.Empty(outbound.Errors);
        var set = Assert.IsType<V1StatefulSet>(Assert.Single(KubernetesYaml.LoadAllFromString(outbound.Output!, typeMap: null, strict: true)));
        var sidecar = set.Spec.Template.Spec.Containers.Single(c => c.Name == "gatehouse");
        Assert.DoesNotContain(sidecar.Ports, p => p.ContainerPort == InjectSidecar.InboundPort);
        Assert.Contains(set.Spec.Template.Spec.Containers[0].Env, e => e.Name == "GATEHOUSE_OUTBOUND");
        Assert.Equal("outbound", set.Spec.Template.Metadata.Annotations[InjectSidecar.InjectedAnnotation]);
        Assert.False(set.Spec.Template.Metadata.Annotations.ContainsKey(InjectSidecar.AppPortAnnotation));
    }

    [Fact]
    public void PodsAndLists_AreInjected_OtherKindsPassThroughByteForByte()
    {
        const string configMap = """
            # kept, comment included
            apiVersion: v1
            kind: ConfigMap
            metadata: { name: settings }
            data: { mode: "strict" }
            """;
        const string custom = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: { name: allow-nothing }
            spec: {}
            """;
        const string list = """
            apiVersion: v1
            kind: List
            items:
              - apiVersion: v1
                kind: Pod
                metadata: { name: web, labels: { app: web } }
                spec:
                  containers: [{ name: web, image: "nginx:1.27", ports: [{ name: http, containerPort: 80 }] }]
            """;
        var result = InjectSidecar.Inject($"---\n{configMap}\n---\n{custom}\n---\n{list}\n", "mixed.yaml", s_both);

        Assert.Empty(result.Errors);
        Assert.Equal(1, result.Injected);
        var documents = result.Output!.Split("---\n");
        Assert.Equal(configMap + "\n", documents[0]);
        Assert.Equal(custom + "\n", documents[1]);
        var pod = KubernetesYaml.Deserialize<V1PodList>(documents[2], strict: true).Items.Single();
        Assert.Contains(pod.Spec.Containers, c => c.Name == "gatehouse");
    }

    [Fact]
    public async Task Cli_ReadsStandardInput_AndUsesTheSharedExitCodes()
    {
        var guestbook = DeployFiles.Manifest("guestbook.yaml");
        var ok = await RunWithStdinAsync(guestbook, "inject", "-f", "-", "--config-map", "frontend-gatehouse", "--image", "registry.example.com/gatehouse:1.0.0");
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        var objects = KubernetesYaml.LoadAllFromString(ok.StdOut, typeMap: null, strict: true);
        Assert.Contains(objects.OfType<V1Deployment>(), d => d.Spec.Template.Spec.Containers.Any(c => c.Name == "gatehouse"));

        var dir = CliRunner.TempDirectory();
        var hostNetwork = Path.Combine(dir, "host.yaml");
        await File.WriteAllTextAsync(hostNetwork, "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  hostNetwork: true\n  containers: [{ name: c, image: \"x/y:1\", ports: [{ containerPort: 80 }] }]\n");
        var refused = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "inject", "-f", hostNetwork);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("", refused.StdOut);
        Assert.Contains("hostNetwork", refused.StdErr, StringComparison.Ordinal);

        var broken = Path.Combine(dir, "broken.yaml");
        await File.WriteAllTextAsync(broken, "kind: Deployment\nmetadata: { name: [unclosed\n");
        Assert.Equal(2, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "inject", "-f", broken)).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "inject", "-f", Path.Combine(dir, "missing.yaml"))).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "inject", "-f", hostNetwork, "--mode", "sideways")).ExitCode);
    }

    private static async Task<CliRunner.Result> RunWithStdinAsync(string stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gatehouse.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new CliRunner.Result(process.ExitCode, await stdout, await stderr);
    }
}
