using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>Turns an automatic dump into a leak report. Called by the monitor after each automatic dump.</summary>
internal interface IAutoDumpReporter
{
    /// <summary>Analyses the dump (and compares it with the previous automatic dump, when there is one). Never throws but for cancellation.</summary>
    Task<AutoDumpLeakReport?> ReportAsync(string dumpId, string? previousDumpId, CancellationToken cancellationToken);
}
