using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using HeapDiag.Analysis;
using HeapDiag.Analyzer;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Analyzer;

/// <summary>
/// Answers "what fills the heap", "where does it accumulate", "what grew" and "who holds it" for dumps in the store.
/// The analysis never runs on the app's heap: the analyzer process reads the dump and writes its results into a
/// workspace, the store commits them beside the dump, and this service only reads them back (one summary and one
/// suspects report come from the same run). One analysis at a time; results are kept, so a second call is a file
/// read and a diff of two analysed dumps is instant.
/// </summary>
internal sealed partial class HeapAnalysisService(
    HeapDumpStore store, AnalyzerProcess analyzer, IOptions<HeapAnalysisOptions> options, ILogger<HeapAnalysisService> logger)
{
    private const string SummaryResult = "summary";
    private const string SuspectsResult = "suspects";
    private const string RuntimeResult = "runtime";

    private readonly SemaphoreSlim _gate = new(1, 1);

    public Task<AnalysisOutcome<HeapSummary>> SummaryAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        ResultAsync(id, SummaryResult, HeapDiagnosticsJsonContext.Default.HeapSummary, AnalyzerProtocol.AnalyzeCommand, null, cancellationToken);

    public Task<AnalysisOutcome<LeakSuspectReport>> SuspectsAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        ResultAsync(id, SuspectsResult, HeapDiagnosticsJsonContext.Default.LeakSuspectReport, AnalyzerProtocol.AnalyzeCommand, null, cancellationToken);

    /// <summary>GC handles, finalizer queue, threads, modules and fragmentation: one walk of the analyzer, kept like the summary.</summary>
    public Task<AnalysisOutcome<RuntimeReport>> RuntimeAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        ResultAsync(id, RuntimeResult, HeapDiagnosticsJsonContext.Default.RuntimeReport, AnalyzerProtocol.RuntimeCommand, null, cancellationToken);

    /// <summary>The suspects of <paramref name="id"/> matched by fingerprint with those of <paramref name="baseline"/>.</summary>
    public async Task<AnalysisOutcome<LeakSuspectReport>> SuspectsAsync(HeapDumpId id, HeapDumpId baseline, CancellationToken cancellationToken)
    {
        var before = await SuspectsAsync(baseline, cancellationToken);
        if (before.Value is null)
        {
            return before;
        }

        var after = await SuspectsAsync(id, cancellationToken);
        return after.Value is null ? after : new AnalysisOutcome<LeakSuspectReport>(HeapDumpAnalyzer.CompareSuspects(before.Value, after.Value));
    }

    /// <summary>What changed from <paramref name="baseline"/> to <paramref name="id"/> (id − baseline).</summary>
    public async Task<AnalysisOutcome<HeapDiff>> DiffAsync(HeapDumpId id, HeapDumpId baseline, int top, CancellationToken cancellationToken)
    {
        var before = await SummaryAsync(baseline, cancellationToken);
        if (before.Value is null)
        {
            return AnalysisOutcome<HeapDiff>.Failed(before.Problem!);
        }

        var after = await SummaryAsync(id, cancellationToken);
        return after.Value is null
            ? AnalysisOutcome<HeapDiff>.Failed(after.Problem!)
            : new AnalysisOutcome<HeapDiff>(HeapDumpAnalyzer.Diff(before.Value, after.Value, top));
    }

    public Task<AnalysisOutcome<RetentionReport>> RetainersAsync(HeapDumpId id, string typeName, CancellationToken cancellationToken)
    {
        // One result per type name; the hash keeps arbitrary type names out of file names.
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(typeName)), 0, 8);
        return ResultAsync(id, $"retainers-{key}", HeapDiagnosticsJsonContext.Default.RetentionReport, AnalyzerProtocol.RetainersCommand, typeName, cancellationToken);
    }

    private async Task<AnalysisOutcome<T>> ResultAsync<T>(
        HeapDumpId id, string resultName, JsonTypeInfo<T> typeInfo, string command, string? typeName, CancellationToken cancellationToken)
        where T : class
    {
        if (options.Value.Mode == AnalysisMode.Off)
        {
            return AnalysisOutcome<T>.Failed(AnalysisProblems.Off);
        }

        // A dump held only in the bucket is fetched first: the analyzer reads a local file. The lease keeps
        // retention from deleting it while it is read.
        LocalDumpLease? dump;
        try
        {
            dump = await store.LeaseLocalCopyAsync(id, cancellationToken);
        }
        catch (HeapDumpStoreException ex)
        {
            return AnalysisOutcome<T>.Failed(new AnalysisProblem(AnalysisFailure.Unavailable, ex.Message, ex.Fix));
        }

        if (dump is null)
        {
            return AnalysisOutcome<T>.Failed(AnalysisProblems.NotFound(id));
        }

        using var lease = dump;
        if (await store.VerifyAsync(dump.DumpPath, dump.Sha256, cancellationToken) is { } mismatch)
        {
            LogDigestMismatch(logger, id.ToString(), mismatch);
            return AnalysisOutcome<T>.Failed(AnalysisProblems.Damaged(mismatch));
        }

        if (TryReadResult(id, resultName, typeInfo) is { } cached)
        {
            return new AnalysisOutcome<T>(cached);
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            // Another request may have produced it while this one waited.
            if (TryReadResult(id, resultName, typeInfo) is { } producedMeanwhile)
            {
                return new AnalysisOutcome<T>(producedMeanwhile);
            }

            var problem = await RunAnalyzerAsync(dump, new AnalyzerJob(command, dump.DumpPath, dump.SizeBytes, typeName), resultName, cancellationToken);
            return problem is null && TryReadResult(id, resultName, typeInfo) is { } result
                ? new AnalysisOutcome<T>(result)
                : AnalysisOutcome<T>.Failed(problem ?? AnalysisProblems.NoResult(id));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs the analyzer on the dump and commits what it wrote; returns the problem, or null when it produced the result.</summary>
    private async Task<AnalysisProblem?> RunAnalyzerAsync(LocalDumpLease dump, AnalyzerJob job, string resultName, CancellationToken cancellationToken)
    {
        using var workspace = store.CreateAnalysisWorkspace(dump.Id);
        var run = await analyzer.RunAsync(job, workspace, cancellationToken);

        // Whatever it finished is kept: the summary is written even when the suspects did not fit the budget.
        foreach ((var file, var name) in Results(job, resultName))
        {
            if (File.Exists(workspace.File(file)))
            {
                store.CommitAnalysisResult(dump.Id, name, workspace.File(file));
                if (name == SuspectsResult)
                {
                    // The fleet groups leaks by the suspects' fingerprints: they travel with the dump.
                    store.PublishResult(dump.Id, DumpEvent.Suspects, await File.ReadAllBytesAsync(store.AnalysisResultPath(dump.Id, name), cancellationToken));
                }
            }
        }

        if (run.Succeeded)
        {
            return null;
        }

        // The analyzer names the directory it was given for scratch files, the workspace, which is deleted as this
        // returns: the caller is told about the storage directory, the one the fix is about.
        var problem = AnalysisProblems.FromRun(run, dump.Id);
        problem = problem with { Detail = problem.Detail.Replace(workspace.DirectoryPath, store.DirectoryPath, StringComparison.Ordinal) };
        LogAnalysisFailed(logger, dump.Id.ToString(), job.Command, problem.Failure.ToString(), problem.Detail);
        return problem;
    }

    private static IEnumerable<(string File, string Name)> Results(AnalyzerJob job, string resultName) =>
        job.Command switch
        {
            AnalyzerProtocol.RetainersCommand => [(AnalyzerProtocol.RetainersFile, resultName)],
            AnalyzerProtocol.RuntimeCommand => [(AnalyzerProtocol.RuntimeFile, resultName)],
            _ => [(AnalyzerProtocol.SummaryFile, SummaryResult), (AnalyzerProtocol.SuspectsFile, SuspectsResult)],
        };

    private T? TryReadResult<T>(HeapDumpId id, string name, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        var path = store.AnalysisResultPath(id, name);
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, typeInfo);
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            // A result that cannot be read is produced again, not reported.
            LogResultUnreadable(logger, path, ex);
            return null;
        }
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Analysis ({Command}) of heap dump {DumpId} failed ({Failure}): {Detail}")]
    private static partial void LogAnalysisFailed(ILogger logger, string dumpId, string command, string failure, string detail);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Heap dump {DumpId} is not analysed: {Mismatch}")]
    private static partial void LogDigestMismatch(ILogger logger, string dumpId, string mismatch);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Ignoring unreadable analysis result {Path}")]
    private static partial void LogResultUnreadable(ILogger logger, string path, Exception exception);
}
