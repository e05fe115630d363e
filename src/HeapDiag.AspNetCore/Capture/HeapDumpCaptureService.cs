using System.Diagnostics;
using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using HeapDiag.AspNetCore.Monitoring;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>Takes a heap dump; the capture service, or a stand-in in tests of its callers.</summary>
internal interface IHeapDumpCapture
{
    /// <summary>Captures a dump. Never throws for a failed capture: the result names the cause and the fix.</summary>
    Task<HeapDumpResult> CaptureAsync(HeapDumpRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// Takes heap dumps, one at a time in the whole process: the counterpart of the seed's performHeapDump, used by
/// the endpoint and the monitor alike. Every failure comes back as a result naming the cause and the fix; nothing
/// is thrown at the caller and nothing partial is left on disk.
/// </summary>
internal sealed partial class HeapDumpCaptureService(
    HeapDumpStore store,
    IHeapDumpWriter writer,
    CaptureCapabilities capabilities,
    MemoryDiagnosticsCollector collector,
    ProcessInstance instance,
    HeapDiagnosticsMetrics metrics,
    TimeProvider timeProvider,
    IOptions<HeapDiagnosticsOptions> options,
    ILogger<HeapDumpCaptureService> logger) : IHeapDumpCapture
{
    // One capture at a time: two writers suspending the process at once would double the stall and the disk use.
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Lock stateLock = new();
    private HeapDumpId? running;
    private DateTimeOffset? lastManualStart;

    public async Task<HeapDumpResult> CaptureAsync(HeapDumpRequest request, CancellationToken cancellationToken)
    {
        if (!await gate.WaitAsync(TimeSpan.Zero, cancellationToken))
        {
            var busyWith = running;
            return Failed(request, 0, HeapDumpFailure.Busy,
                busyWith is null ? "Another capture is running." : $"Another capture is running: {busyWith} ({busyWith.Trigger}, started {busyWith.CreatedUtc:O}).",
                "Wait for it to finish, then list the dumps with GET /heapdump.");
        }

        try
        {
            return await CaptureExclusiveAsync(request, cancellationToken);
        }
        finally
        {
            lock (stateLock)
            {
                running = null;
            }

            gate.Release();
        }
    }

    private async Task<HeapDumpResult> CaptureExclusiveAsync(HeapDumpRequest request, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (request.Trigger == DiagnosticsTriggers.Manual && lastManualStart is { } last && now - last < options.Value.Capture.MinInterval)
        {
            var retryAfter = options.Value.Capture.MinInterval - (now - last);
            return Failed(request, 0, HeapDumpFailure.RateLimited,
                $"The last manual capture started at {last:O}; Capture:MinInterval is {options.Value.Capture.MinInterval}.",
                $"Retry after {Math.Ceiling(retryAfter.TotalSeconds)} seconds.") with { RetryAfterSeconds = Math.Ceiling(retryAfter.TotalSeconds) };
        }

        // Diagnostics first, before any other I/O: the dump itself moves memory around and would skew the numbers.
        var diagnostics = collector.Collect(request.Trigger, request.DumpNumber);
        var started = Stopwatch.GetTimestamp();
        var id = new HeapDumpId(now, instance.ProcessId, request.Trigger, request.DumpNumber, request.Type);

        if (store.EnsureWritable() is { } notWritable)
        {
            var directory = CaptureCapabilities.DirectoryProblem(notWritable);
            return Failed(request, started, directory.Code, directory.Message, directory.Fix);
        }

        var expected = CaptureCapabilities.ExpectedBytes(request.Type);
        if (store.FreeBytes() is { } free && free < expected + options.Value.Storage.ReserveBytes)
        {
            var disk = CaptureCapabilities.DiskProblem(free, expected, options.Value.Storage.ReserveBytes);
            return Failed(request, started, disk.Code, disk.Message, disk.Fix);
        }

        lock (stateLock)
        {
            running = id;
            if (request.Trigger == DiagnosticsTriggers.Manual)
            {
                lastManualStart = now;
            }
        }

        LogCaptureStarted(logger, id.ToString(), request.Trigger, request.DumpNumber, request.Type, diagnostics.MemoryUsage.WorkingSetBytes, diagnostics.MemoryUsage.GcHeapSizeBytes);

        // Written before the dump, so that they survive a dump that fails (the seed's reason).
        string? diagnosticsPath = null;
        try
        {
            store.WriteDiagnostics(id, JsonSerializer.SerializeToUtf8Bytes(diagnostics, HeapDiagnosticsJsonContext.Default.MemoryDiagnostics));
            diagnosticsPath = store.DiagnosticsPath(id);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Failed(request, started, HeapDumpFailure.DirectoryNotWritable, $"Writing the diagnostics to '{store.DirectoryPath}' failed: {ex.Message}",
                "Check the free space and permissions of HeapDiagnostics:Storage:Directory.") with { Id = id.ToString() };
        }

        if (capabilities.ProcessProblems().FirstOrDefault() is { } blocker)
        {
            return Failed(request, started, blocker.Code, blocker.Message, blocker.Fix) with { Id = id.ToString(), DiagPath = diagnosticsPath };
        }

        try
        {
            var temp = store.PrepareTempDump(id);

            // The writer is not cancelled with the caller: createdump runs on once started, and a half-written
            // file is worse than a finished one nobody asked for any more.
            await writer.WriteAsync(request.Type, temp, CancellationToken.None);

            // The digest is computed as the store commits the dump: createdump writes the file from outside while this
            // process is suspended, so the first read of it can only start now. That one read also compresses the
            // dump for the bucket. The store applies retention.
            var written = Stopwatch.GetTimestamp();
            var stored = await store.CommitAsync(id, diagnostics, CancellationToken.None);
            var digestMs = Stopwatch.GetElapsedTime(written).TotalMilliseconds;
            var elapsed = Stopwatch.GetElapsedTime(started);
            LogCaptureSucceeded(logger, id.ToString(), stored.SizeBytes, elapsed.TotalMilliseconds, stored.DumpPath, stored.Sha256);
            metrics.DumpWritten(request.Trigger, elapsed);

            // Shipped after commit and retention, still inside the gate: the next capture waits rather than
            // competing for the disk and the network. A failed upload keeps the local file and is reported in the
            // result; the capture itself succeeded.
            var shipped = await store.ShipAsync(stored, diagnostics);
            return new HeapDumpResult(
                true,
                id.ToString(),
                shipped.LocalDeleted ? null : stored.DumpPath,
                shipped.LocalDeleted ? null : diagnosticsPath,
                stored.SizeBytes,
                elapsed.TotalMilliseconds,
                request.Type,
                request.Trigger,
                request.DumpNumber) { Egress = shipped, Sha256 = stored.Sha256, DigestMs = digestMs };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            store.DiscardTemp(id);
            var cause = ex is IOException or UnauthorizedAccessException
                ? new CapabilityProblem(HeapDumpFailure.DirectoryNotWritable, $"Writing the dump to '{store.DirectoryPath}' failed.", "Check the free space and permissions of HeapDiagnostics:Storage:Directory.")
                : capabilities.Explain(ex);
            return Failed(request, started, cause.Code, cause.Message, cause.Fix, ex) with { Id = id.ToString(), DiagPath = diagnosticsPath, RawError = ex.Message };
        }
    }

    private HeapDumpResult Failed(HeapDumpRequest request, long started, HeapDumpFailure failure, string error, string fix, Exception? exception = null)
    {
        // Busy and rate-limited are answers, not failures: nothing was tried.
        if (failure is not (HeapDumpFailure.Busy or HeapDumpFailure.RateLimited))
        {
            LogCaptureFailed(logger, request.Trigger, request.Type, failure.ToString(), error, exception);
            metrics.DumpFailed(request.Trigger, failure.ToString());
        }

        var duration = started == 0 ? 0 : Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return new HeapDumpResult(false, null, null, null, 0, duration, request.Type, request.Trigger, request.DumpNumber, error, failure, fix);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Heap dump {DumpId} starting: trigger {Trigger}, dump number {DumpNumber}, type {Type}, working set {WorkingSetBytes} bytes, GC heap {GcHeapBytes} bytes")]
    private static partial void LogCaptureStarted(ILogger logger, string dumpId, string trigger, int dumpNumber, string type, long workingSetBytes, long gcHeapBytes);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Heap dump {DumpId} written: {SizeBytes} bytes in {DurationMs:0} ms to {Path}, SHA-256 {Sha256}")]
    private static partial void LogCaptureSucceeded(ILogger logger, string dumpId, long sizeBytes, double durationMs, string path, string? sha256);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Heap dump ({Trigger}, {Type}) failed ({Failure}): {Reason}")]
    private static partial void LogCaptureFailed(ILogger logger, string trigger, string type, string failure, string reason, Exception? exception);
}
