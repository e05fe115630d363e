using System.Text.Json;
using HeapDiag.Analysis.Allocations;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Allocations;

/// <summary>
/// Samples which code allocates given types, in the analyzer process, one session at a time; and keeps the sites
/// sampled after a dump beside it, so that its suspects show them.
/// </summary>
internal sealed partial class AllocationSamplingService(
    AllocationSamplerProcess sampler, HeapDumpStore store, IOptions<HeapAnalysisOptions> options, ILogger<AllocationSamplingService> logger)
{
    /// <summary>The analysis result name of the sites kept beside a dump.</summary>
    public const string ResultName = "allocation-sites";

    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// Samples <paramref name="types"/> for <paramref name="seconds"/>. With <paramref name="waitForTurn"/> false a
    /// running session is answered <see cref="SamplingFailure.Busy"/>; with true (the monitor) it waits for it.
    /// </summary>
    public async Task<SamplingOutcome> SampleAsync(IReadOnlyList<string> types, int seconds, bool waitForTurn, CancellationToken cancellationToken)
    {
        if (options.Value.Mode == AnalysisMode.Off)
        {
            return SamplingOutcome.Failed(SamplingFailure.AnalyzerUnavailable, "Analysis is turned off here (HeapDiagnostics:Analysis:Mode is Off): it samples allocations too.",
                "Set HeapDiagnostics:Analysis:Mode to ChildProcess, or record a trace with 'dotnet-trace collect --profile gc-verbose' and read it with 'heapdiag sites FILE --type T'.");
        }

        if (DiagnosticPort.Check() is { } problem)
        {
            return new SamplingOutcome(null, problem);
        }

        if (waitForTurn)
        {
            await _gate.WaitAsync(cancellationToken);
        }
        else if (!await _gate.WaitAsync(TimeSpan.Zero, cancellationToken))
        {
            return SamplingOutcome.Failed(SamplingFailure.Busy, "Allocations are already being sampled (one session at a time).", "Retry when it ends: a session lasts its window (seconds=) and a few seconds more.");
        }

        try
        {
            using var workspace = store.CreateSamplingWorkspace();
            return await sampler.RunAsync(types, seconds, workspace.DirectoryPath, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Keeps <paramref name="report"/> beside the dump: sites sampled after it, for its suspects.</summary>
    public void KeepForDump(HeapDumpId id, AllocationSitesReport report)
    {
        try
        {
            store.WriteAnalysisResult(id, ResultName, JsonSerializer.SerializeToUtf8Bytes(report, HeapDiagnosticsJsonContext.Default.AllocationSitesReport));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogKeepFailed(logger, id.ToString(), ex);
        }
    }

    /// <summary>The sites sampled after the dump, or null.</summary>
    public AllocationSitesReport? ForDump(HeapDumpId id)
    {
        var path = store.AnalysisResultPath(id, ResultName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), HeapDiagnosticsJsonContext.Default.AllocationSitesReport) : null;
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            LogKeepFailed(logger, id.ToString(), ex);
            return null;
        }
    }

    [LoggerMessage(EventId = 4604, Level = LogLevel.Warning, Message = "Could not keep or read the allocation sites of heap dump {DumpId}")]
    private static partial void LogKeepFailed(ILogger logger, string dumpId, Exception exception);
}
