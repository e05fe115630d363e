using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using HeapDiag.Analysis;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Analysis;

/// <summary>Why an analysis gave no answer.</summary>
internal enum AnalysisFailure
{
    /// <summary>No such dump in the store (404).</summary>
    DumpNotFound,

    /// <summary>The file is truncated, corrupt or not a .NET dump (422).</summary>
    Unreadable,

    /// <summary>The type name matches no type, or several (404).</summary>
    TypeNotFound,

    /// <summary>The dump is only in the bucket, and the bucket cannot be reached (502).</summary>
    Unavailable,
}

/// <summary>An analysis answer, or why there is none.</summary>
internal sealed record AnalysisOutcome<T>(T? Value, AnalysisFailure? Failure = null, string? Error = null)
    where T : class
{
    public static AnalysisOutcome<T> Failed(AnalysisFailure failure, string error) => new(null, failure, error);
}

/// <summary>
/// Answers "what fills the heap", "what grew" and "who holds it" for dumps in the store, over HeapDiag.Analysis.
/// Analyses run one at a time (each reads a file the size of the heap and holds a bitmap of it), off the request
/// thread, cancellable, and their results are cached beside the dump as JSON, so a second call is a file read
/// and a diff of two summarised dumps is instant.
/// </summary>
internal sealed partial class HeapAnalysisService(HeapDumpStore store, ILogger<HeapAnalysisService> logger)
{
    private const string SummaryCache = "summary";

    private readonly SemaphoreSlim gate = new(1, 1);

    public Task<AnalysisOutcome<HeapSummary>> SummaryAsync(HeapDumpId id, CancellationToken cancellationToken) =>
        CachedAsync(id, SummaryCache, HeapDiagnosticsJsonContext.Default.HeapSummary,
            path => HeapDumpAnalyzer.Summarize(path, cancellationToken: cancellationToken), cancellationToken);

    /// <summary>What changed from <paramref name="baseline"/> to <paramref name="id"/> (id − baseline).</summary>
    public async Task<AnalysisOutcome<HeapDiff>> DiffAsync(HeapDumpId id, HeapDumpId baseline, int top, CancellationToken cancellationToken)
    {
        var before = await SummaryAsync(baseline, cancellationToken);
        if (before.Value is null)
        {
            return AnalysisOutcome<HeapDiff>.Failed(before.Failure!.Value, before.Error!);
        }

        var after = await SummaryAsync(id, cancellationToken);
        return after.Value is null
            ? AnalysisOutcome<HeapDiff>.Failed(after.Failure!.Value, after.Error!)
            : new AnalysisOutcome<HeapDiff>(HeapDumpAnalyzer.Diff(before.Value, after.Value, top));
    }

    public Task<AnalysisOutcome<RetentionReport>> RetainersAsync(HeapDumpId id, string typeName, CancellationToken cancellationToken)
    {
        // One cache file per type name; the hash keeps arbitrary type names out of file names.
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(typeName)), 0, 8);
        return CachedAsync(id, $"retainers-{key}", HeapDiagnosticsJsonContext.Default.RetentionReport,
            path => HeapDumpAnalyzer.FindRetainers(path, typeName, cancellationToken: cancellationToken), cancellationToken);
    }

    private async Task<AnalysisOutcome<T>> CachedAsync<T>(
        HeapDumpId id, string cacheName, JsonTypeInfo<T> typeInfo, Func<string, T> analyze, CancellationToken cancellationToken)
        where T : class
    {
        // A dump held only in the bucket is fetched first: the analyzer reads a local file. The lease keeps
        // retention from deleting it while it is read.
        LocalDumpLease? dump;
        try
        {
            dump = await store.LeaseLocalCopyAsync(id, cancellationToken);
        }
        catch (HeapDumpStoreException ex)
        {
            return AnalysisOutcome<T>.Failed(AnalysisFailure.Unavailable, $"{ex.Message} {ex.Fix}");
        }

        if (dump is null)
        {
            return AnalysisOutcome<T>.Failed(AnalysisFailure.DumpNotFound, $"There is no heap dump '{id}' here. List them with GET /heapdump.");
        }

        using var lease = dump;

        var cachePath = store.AnalysisResultPath(id, cacheName);
        if (TryReadCache(cachePath, typeInfo) is { } cached)
        {
            return new AnalysisOutcome<T>(cached);
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            // Another request may have computed it while this one waited.
            if (TryReadCache(cachePath, typeInfo) is { } computedMeanwhile)
            {
                return new AnalysisOutcome<T>(computedMeanwhile);
            }

            LogAnalysisStarted(logger, cacheName, id.ToString(), dump.SizeBytes);
            var result = await Task.Run(() => analyze(dump.DumpPath), cancellationToken);
            store.WriteAnalysisResult(id, cacheName, JsonSerializer.SerializeToUtf8Bytes(result, typeInfo));
            return new AnalysisOutcome<T>(result);
        }
        catch (HeapDumpFormatException ex)
        {
            LogUnreadable(logger, id.ToString(), ex.Message);
            return AnalysisOutcome<T>.Failed(AnalysisFailure.Unreadable, ex.Message);
        }
        catch (ArgumentException ex)
        {
            return AnalysisOutcome<T>.Failed(AnalysisFailure.TypeNotFound, ex.Message);
        }
        finally
        {
            gate.Release();
        }
    }

    private T? TryReadCache<T>(string path, JsonTypeInfo<T> typeInfo)
        where T : class
    {
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
            // A cache that cannot be read is recomputed, not reported.
            LogCacheUnreadable(logger, path, ex);
            return null;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Analysing {Analysis} of heap dump {DumpId} ({SizeBytes} bytes)")]
    private static partial void LogAnalysisStarted(ILogger logger, string analysis, string dumpId, long sizeBytes);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Heap dump {DumpId} cannot be analysed: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string dumpId, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Ignoring unreadable analysis cache {Path}")]
    private static partial void LogCacheUnreadable(ILogger logger, string path, Exception exception);
}
