using System.CommandLine;
using Gatehouse.Cli.Commands;
using Gatehouse.Cli.Demo;

// The `gatehouse` executable: a thin CLI over Gatehouse.Core and Gatehouse.Proxy. Command names and options are a
// contract (design.md, "Contracts"): extend, never rename.
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
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
