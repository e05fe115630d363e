using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>
/// Takes heap dumps, one at a time in the whole process, for the endpoint and the monitor alike: admitted (rate
/// limit, directory, disk), diagnostics collected before the dump moves memory around, files written, counted and
/// logged. Every failure comes back as a result naming the cause and the fix; nothing is thrown at the caller and
/// nothing partial is left on disk.
/// </summary>
internal sealed partial class HeapDumpCaptureService(
    CaptureAdmission admission,
    MemoryDiagnosticsCollector collector,
    CaptureFiles files,
    CaptureMetrics metrics,
    TimeProvider time,
    ILogger<HeapDumpCaptureService> logger) : IHeapDumpCapture
{
    // One capture at a time: two writers suspending the process at once would double the stall and the disk use.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private HeapDumpId? _running;

    public async Task<HeapDumpResult> CaptureAsync(HeapDumpRequest request, CancellationToken cancellationToken)
    {
        if (!await _gate.WaitAsync(TimeSpan.Zero, cancellationToken))
        {
            var busyWith = Volatile.Read(ref _running);
            return Refused(request, new CapabilityProblem(HeapDumpFailure.Busy,
                busyWith is null ? "Another capture is running." : $"Another capture is running: {busyWith} ({busyWith.Trigger}, started {busyWith.CreatedUtc:O}).",
                "Wait for it to finish, then list the dumps with GET /heapdump."));
        }

        try
        {
            return await CaptureAdmittedAsync(request);
        }
        finally
        {
            Volatile.Write(ref _running, null);
            _gate.Release();
        }
    }

    private async Task<HeapDumpResult> CaptureAdmittedAsync(HeapDumpRequest request)
    {
        var started = time.GetTimestamp();
        var admitted = admission.Admit(request);
        if (admitted.Id is not { } id)
        {
            return Refused(request, admitted.Problem!) with { RetryAfterSeconds = admitted.RetryAfterSeconds };
        }

        Volatile.Write(ref _running, id);
        var diagnostics = collector.Collect(request.Trigger, request.DumpNumber);
        LogCaptureStarted(logger, id.ToString(), request.Trigger, request.DumpNumber, request.Type, diagnostics.MemoryUsage.WorkingSetBytes, diagnostics.MemoryUsage.GcHeapSizeBytes);
        var (diagnosticsPath, notWritten) = files.WriteDiagnostics(id, diagnostics);
        var written = notWritten is null ? await files.WriteDumpAsync(id, request.Type, diagnostics) : new WrittenDump(null, 0, notWritten);
        if (written.Stored is not { } stored)
        {
            return Failed(request, started, written.Problem!, written.Error) with { Id = id.ToString(), DiagPath = diagnosticsPath, RawError = written.Error?.Message };
        }

        var elapsed = time.GetElapsedTime(started);
        LogCaptureSucceeded(logger, id.ToString(), stored.SizeBytes, elapsed.TotalMilliseconds, stored.DumpPath, stored.Sha256);
        metrics.DumpWritten(request.Trigger, elapsed);

        // Shipped after commit and retention, still inside the gate: the next capture waits rather than competing for
        // the disk and the network. A failed upload keeps the local file and is in the result; the capture succeeded.
        var shipped = await files.ShipAsync(stored, diagnostics);
        return new HeapDumpResult(
            true,
            id.ToString(),
            shipped.LocalDeleted ? null : stored.DumpPath,
            shipped.LocalDeleted ? null : diagnosticsPath,
            stored.SizeBytes,
            elapsed.TotalMilliseconds,
            request.Type,
            request.Trigger,
            request.DumpNumber)
        { Egress = shipped, Sha256 = stored.Sha256, DigestMs = written.DigestMs };
    }

    /// <summary>Busy, rate-limited, no room: answers, not failures, since nothing was tried. Only a full disk or a bad directory is counted.</summary>
    private HeapDumpResult Refused(HeapDumpRequest request, CapabilityProblem problem) =>
        problem.Code is HeapDumpFailure.Busy or HeapDumpFailure.RateLimited
            ? Result(request, 0, problem)
            : Failed(request, 0, problem, null);

    private HeapDumpResult Failed(HeapDumpRequest request, long started, CapabilityProblem problem, Exception? exception)
    {
        LogCaptureFailed(logger, request.Trigger, request.Type, problem.Code.ToString(), problem.Message, exception);
        metrics.DumpFailed(request.Trigger, problem.Code.ToString());
        return Result(request, started, problem);
    }

    private HeapDumpResult Result(HeapDumpRequest request, long started, CapabilityProblem problem) =>
        new(false, null, null, null, 0, started == 0 ? 0 : time.GetElapsedTime(started).TotalMilliseconds,
            request.Type, request.Trigger, request.DumpNumber, problem.Message, problem.Code, problem.Fix);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Heap dump {DumpId} starting: trigger {Trigger}, dump number {DumpNumber}, type {Type}, working set {WorkingSetBytes} bytes, GC heap {GcHeapBytes} bytes")]
    private static partial void LogCaptureStarted(ILogger logger, string dumpId, string trigger, int dumpNumber, string type, long workingSetBytes, long gcHeapBytes);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Heap dump {DumpId} written: {SizeBytes} bytes in {DurationMs:0} ms to {Path}, SHA-256 {Sha256}")]
    private static partial void LogCaptureSucceeded(ILogger logger, string dumpId, long sizeBytes, double durationMs, string path, string? sha256);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Heap dump ({Trigger}, {Type}) failed ({Failure}): {Reason}")]
    private static partial void LogCaptureFailed(ILogger logger, string trigger, string type, string failure, string reason, Exception? exception);
}
