namespace Gatehouse.Audit;

/// <summary>
/// What the audit pipeline reports about itself: drops, records written, sink failures. The pipeline counts through
/// this interface (implemented by <c>Diagnostics.GatehouseMetrics</c>) so Audit does not depend on Diagnostics:
/// Diagnostics sits above Audit and reads its vocabulary (<see cref="AuditDecisions"/>), never the other way round.
/// </summary>
public interface IAuditMetrics
{
    /// <summary>Counts an audit record dropped because the queue was full.</summary>
    void RecordAuditDropped();

    /// <summary>Counts an audit record handed to the sinks.</summary>
    void RecordAuditWritten();

    /// <summary>Counts a failure of an audit sink.</summary>
    /// <param name="sink">The sink's name.</param>
    void RecordAuditSinkError(string sink);
}
