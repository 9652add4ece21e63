namespace Gatehouse.Cli.Commands;

/// <summary>Exit codes shared by the commands.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Invalid config (check, run) or a deny (explain).</summary>
    public const int Failure = 1;
    /// <summary>Usage or runtime error (explain: the decision could not be made).</summary>
    public const int Error = 2;
}
