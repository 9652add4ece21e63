using System.CommandLine;
using System.Reflection;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse inject -f FILE|- [--config-map NAME] [--mode inbound,outbound] [--image IMAGE]</c>: writes the
/// manifests to standard output with the Gatehouse sidecar added to every workload (<see cref="InjectSidecar"/>).
/// Exit 0 when written; 1 when a workload cannot be injected safely (nothing is written, every reason on standard
/// error); 2 for unreadable input, YAML that does not parse, or bad options.
/// </summary>
internal static class InjectCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--filename", "-f") { Description = "Kubernetes manifests (multi-document YAML); - reads standard input.", Required = true };
        var configMap = new Option<string?>("--config-map") { Description = "ConfigMap with the sidecar's gatehouse.yaml (default: <workload name>-gatehouse)." };
        var mode = new Option<string>("--mode") { Description = "Listeners to wire: inbound, outbound or both (comma-separated).", DefaultValueFactory = _ => "inbound,outbound" };
        var image = new Option<string>("--image") { Description = "The Gatehouse image.", DefaultValueFactory = _ => "gatehouse:" + Version() };
        var command = new Command("inject", "Add the Gatehouse sidecar to Kubernetes Deployments, StatefulSets, DaemonSets, ReplicaSets and Pods (like istioctl kube-inject).")
        {
            file, configMap, mode, image,
        };
        command.SetAction(parse =>
        {
            var modes = parse.GetValue(mode)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = modes.Where(m => m is not ("inbound" or "outbound")).ToList();
            if (modes.Length == 0 || unknown.Count > 0)
            {
                Console.Error.WriteLine($"error: --mode: expected inbound, outbound or inbound,outbound, got '{parse.GetValue(mode)}'");
                return ExitCodes.Error;
            }
            var imageName = parse.GetValue(image)!;
            if (string.IsNullOrWhiteSpace(imageName) || imageName.Any(char.IsWhiteSpace))
            {
                Console.Error.WriteLine($"error: --image: '{imageName}' is not an image reference");
                return ExitCodes.Error;
            }
            var path = parse.GetValue(file)!;
            string yaml;
            try
            {
                yaml = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {path}: {ex.Message}");
                return ExitCodes.Error;
            }
            var options = new InjectOptions(parse.GetValue(configMap), modes.Contains("inbound"), modes.Contains("outbound"), imageName);
            var result = InjectSidecar.Inject(yaml, path == "-" ? "<stdin>" : path, options);
            foreach (var warning in result.Warnings)
            {
                Console.Error.WriteLine($"warning: {warning}");
            }
            foreach (var error in result.Errors)
            {
                Console.Error.WriteLine($"error: {error}");
            }
            if (result.Output is null)
            {
                return result.InvalidInput ? ExitCodes.Error : ExitCodes.Failure;
            }
            Console.Out.Write(result.Output);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The version the image is tagged with by default (the informational version without build metadata).</summary>
    private static string Version()
    {
        var informational = typeof(InjectCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "1.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? informational : informational[..plus];
    }
}
