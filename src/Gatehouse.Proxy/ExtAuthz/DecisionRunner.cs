using Gatehouse.Decisions;
using Gatehouse.Model;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Proxy.ExtAuthz;

/// <summary>How a decision call ended.</summary>
internal enum RunOutcome
{
    Decided,
    DeadlineExceeded,
    Aborted,
}

/// <summary>Calls the engine with a deadline; exceptions fail closed (<see cref="LocalDecisions.InternalError"/>).</summary>
internal static class DecisionRunner
{
    public static async ValueTask<(RunOutcome Outcome, Decision Decision)> RunAsync(
        DecideAsync decide, AuthorizationRequest request, CancellationToken deadline, CancellationToken aborted, ILogger logger)
    {
        try
        {
            var pending = decide(request, deadline);
            if (pending.IsCompletedSuccessfully)
            {
                return (RunOutcome.Decided, pending.Result);
            }

            // Note: WaitAsync enforces the deadline even when the engine does not observe the token.
            var decision = await pending.AsTask().WaitAsync(deadline);
            return (RunOutcome.Decided, decision);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return (RunOutcome.Aborted, LocalDecisions.InternalError);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (RunOutcome.DeadlineExceeded, LocalDecisions.InternalError);
        }
#pragma warning disable CA1031 // Any engine failure must become a fail-closed denial, never a crash or an allow.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            ExtAuthzLog.DecisionFailed(logger, exception);
            return (RunOutcome.Decided, LocalDecisions.InternalError);
        }
    }
}
