using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Capture;

/// <summary>
/// A dump written and committed, with the time spent after the writer finished until its digest was known; or the
/// cause and the fix of the failure, and the writer's exception when there was one.
/// </summary>
internal sealed record WrittenDump(StoredHeapDump? Stored, double DigestMs, CapabilityProblem? Problem = null, Exception? Error = null);

/// <summary>
/// Writes one capture's files into the store: the diagnostics first, so they survive a dump that fails; then the dump,
/// written by the runtime's writer at a temp path while its SHA-256 (and zstd form) is computed beside it, committed (renamed into
/// place, retention applied) and shipped. Nothing partial is left: a failed dump's temp file is deleted.
/// </summary>
internal sealed class CaptureFiles(HeapDumpStore store, IHeapDumpWriter writer, DumpDigestFollower digests, CaptureCapabilities capabilities, TimeProvider time)
{
    /// <summary>Writes the diagnostics; their path, or the problem that kept them from being written.</summary>
    public (string? Path, CapabilityProblem? Problem) WriteDiagnostics(HeapDumpId id, MemoryDiagnostics diagnostics)
    {
        try
        {
            store.WriteDiagnostics(id, JsonSerializer.SerializeToUtf8Bytes(diagnostics, HeapDiagnosticsJsonContext.Default.MemoryDiagnostics));
            return (store.DiagnosticsPath(id), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, new CapabilityProblem(HeapDumpFailure.DirectoryNotWritable,
                $"Writing the diagnostics to '{store.DirectoryPath}' failed: {ex.Message}", "Check the free space and permissions of HeapDiagnostics:Storage:Directory."));
        }
    }

    /// <summary>Writes and commits the dump. Never throws: a failure comes back with its cause and fix.</summary>
    public async Task<WrittenDump> WriteDumpAsync(HeapDumpId id, string type, MemoryDiagnostics diagnostics)
    {
        if (capabilities.ProcessProblems().FirstOrDefault() is { } blocker)
        {
            return new WrittenDump(null, 0, blocker);
        }

        var temp = store.PrepareTempDump(id);
        try
        {
            using var digest = digests.Start(temp, store.TempPackedDumpPath(id), () => store.CreateAnalysisWorkspace(id));

            // The writer is not cancelled with the caller: createdump runs on once started, and a half-written file is
            // worse than a finished one nobody asked for any more.
            await writer.WriteAsync(type, temp, CancellationToken.None);
            var written = time.GetTimestamp();
            var sha256 = digest is null || !File.Exists(temp) ? null : await digest.FinishAsync(new FileInfo(temp).Length, time);
            var stored = await store.CommitAsync(id, diagnostics, sha256, CancellationToken.None);
            return new WrittenDump(stored, time.GetElapsedTime(written).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            store.DiscardTemp(id);
            var cause = ex is IOException or UnauthorizedAccessException
                ? new CapabilityProblem(HeapDumpFailure.DirectoryNotWritable, $"Writing the dump to '{store.DirectoryPath}' failed.", "Check the free space and permissions of HeapDiagnostics:Storage:Directory.")
                : capabilities.Explain(ex);
            return new WrittenDump(null, 0, cause, ex);
        }
    }

    /// <summary>Uploads a committed dump when there is a bucket. Never throws: a failure keeps the local files and is in the result.</summary>
    public Task<HeapDumpEgressResult> ShipAsync(StoredHeapDump stored, MemoryDiagnostics diagnostics) => store.ShipAsync(stored, diagnostics);
}
