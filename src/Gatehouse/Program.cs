using System.CommandLine;
using Gatehouse.Cli.Commands;
using Gatehouse.Cli.Demo;

// The `gatehouse` executable: a thin CLI over Gatehouse.Core and Gatehouse.Proxy. Command names and options are a
// contract (design.md, "Contracts"): extend, never rename.
// Note: socket completions run inline on the event-loop threads, as in nginx/HAProxy's event loops, instead of
// being queued to the thread pool: +26 % req/s and lower p99 in interleaved A/B runs on 2 cores (docs/performance.md).
// Gatehouse's handlers never block (key fetches and introspection are async). Read by the runtime when the first
// socket is created, so it is set before anything touches the network; DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 opts out.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

var root = new RootCommand("Gatehouse: an identity-aware proxy that makes every request in a service mesh prove itself.")
{
    RunCommand.Create(),
    CheckCommand.Create(),
    ExplainCommand.Create(),
    DemoCommand.Create(),
    TokenCommand.Create(),
    CaCommand.Create(),
    AuditCommand.Create(),
    ImportCommand.Create(),
    InjectCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
