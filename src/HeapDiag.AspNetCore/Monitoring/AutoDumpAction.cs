using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// What the monitor does past its threshold: an automatic heap dump through the same capture service as manual ones
/// (same gate, disk guard and retention), then its leak report, compared with the previous automatic dump's.
/// </summary>
internal sealed class AutoDumpAction(IHeapDumpCapture capture, IAutoDumpReporter reporter)
{
    private string? _lastReportedDumpId;

    public Task<HeapDumpResult> CaptureAsync(int dumpNumber, CancellationToken cancellationToken) =>
        capture.CaptureAsync(new HeapDumpRequest(DiagnosticsTriggers.Auto, dumpNumber, HeapDumpTypes.Heap), cancellationToken);

    /// <summary>Analyses a dump <see cref="CaptureAsync"/> wrote into its leak report. Never throws but for cancellation.</summary>
    public async Task ReportAsync(string dumpId, CancellationToken cancellationToken)
    {
        await reporter.ReportAsync(dumpId, _lastReportedDumpId, cancellationToken);
        _lastReportedDumpId = dumpId;
    }
}
