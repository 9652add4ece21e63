using System.CommandLine;
using Gatehouse.Configuration;
using Gatehouse.Proxy.Hosting;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse run -c FILE</c>: run the listeners of a config; refuses an invalid config with check's messages.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The YAML config file (watched for changes; SIGHUP reloads).", Required = true };
        var command = new Command("run", "Run the listeners of a config file.") { config };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(config)!;
            var environment = CommandEnvironment.Variables();
            var result = ConfigLoader.LoadFile(file.FullName, environment);
            if (!result.IsValid)
            {
                CheckCommand.PrintErrors(result);
                Console.Error.WriteLine($"{file}: refusing to start with an invalid config ({result.Errors.Count} error(s)).");
                return ExitCodes.Failure;
            }

            await using var server = await GatehouseServer.StartAsync(new GatehouseServerOptions
            {
                Config = result.Config!,
                ConfigPath = file.FullName,
                ReferencedFiles = result.ReferencedFiles,
                Environment = environment,
            }, cancellationToken).ConfigureAwait(false);
            await server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }
}
