using System.Text.Json;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;

namespace HeapDiag.AspNetCore.Fleet;

/// <summary>
/// Reads the fleet from the bucket: one listing of <c>{Prefix}/</c> (pages of 1000 keys) and one read per instance record,
/// 16 at a time; kept for <see cref="CacheDuration"/> so that a page polling it, or many people, cost the bucket nothing more.
/// One read at a time: callers that arrive during a read get its result. A key or record that is not HeapDiag's (or is
/// damaged) is counted and ignored.
/// </summary>
internal sealed partial class FleetReader(TimeProvider time, ILogger<FleetReader> logger) : IDisposable
{
    /// <summary>How long a read of the bucket answers <c>GET /fleet</c>.</summary>
    public static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(10);

    // A record is a few KiB; one that unpacks to more is not HeapDiag's.
    private const int MaxRecordBytes = 1 << 20;
    private const int ParallelReads = 16;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private FleetSnapshot? _cached;

    /// <summary>The fleet as last read, read again when older than <see cref="CacheDuration"/>. Throws <see cref="HeapDumpStoreException"/> when the bucket fails.</summary>
    public async Task<FleetSnapshot> ReadAsync(IDumpBucket bucket, CancellationToken cancellationToken)
    {
        if (Fresh() is { } fresh)
        {
            return fresh;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return Fresh() ?? (_cached = await ScanAsync(bucket, cancellationToken));
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private FleetSnapshot? Fresh() =>
        _cached is { } cached && time.GetUtcNow() - cached.Scan.ReadUtc < CacheDuration ? cached with { Scan = cached.Scan with { Cached = true, Requests = 0 } } : null;

    private async Task<FleetSnapshot> ScanAsync(IDumpBucket bucket, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var listing = await bucket.ListObjectsAsync(bucket.Layout.RootPrefix, cancellationToken);
        var (recordKeys, dumps, ignored) = FleetKeys.Sort(bucket.Layout.RootPrefix, listing.Objects.Keys);
        var problems = new List<string>();
        using var throttle = new SemaphoreSlim(ParallelReads);
        var records = await Task.WhenAll(recordKeys.Select(async entry =>
        {
            await throttle.WaitAsync(cancellationToken);
            try
            {
                return await ReadRecordAsync(bucket, entry.Key, entry.Value, problems, cancellationToken);
            }
            finally
            {
                throttle.Release();
            }
        }));
        var scan = new FleetScan(time.GetUtcNow(), false, listing.Objects.Count, listing.Requests + recordKeys.Count, time.GetElapsedTime(started).TotalMilliseconds,
            ignored, recordKeys.Count - records.Count(record => record is not null), [.. problems.Take(10)]);
        LogScanned(logger, listing.Objects.Count, recordKeys.Count, scan.Requests, scan.DurationMs, ignored, scan.DamagedRecords);
        return new FleetSnapshot(bucket.Location(bucket.Layout.RootPrefix), [.. records.OfType<InstanceRecord>()], dumps, scan);
    }

    private async Task<InstanceRecord?> ReadRecordAsync(IDumpBucket bucket, string key, (string App, string Instance) folder, List<string> problems, CancellationToken cancellationToken)
    {
        string? problem;
        try
        {
            var packed = await bucket.ReadAsync(key, cancellationToken);
            var json = packed is null ? null : DumpCodec.TryUnpack(packed, MaxRecordBytes);
            var record = json is null ? null : JsonSerializer.Deserialize(json, HeapDiagnosticsJsonContext.Default.InstanceRecord);
            if (record is { Schema: InstanceRecord.CurrentSchema, Dumps: not null, App: not null, Instance: not null, Host: not null, Metric: not null }
                && record.App == folder.App && record.Instance == folder.Instance && record.IntervalSeconds > 0 && record.Dumps.All(IsWhole))
            {
                return record;
            }

            problem = packed is null ? $"{key}: deleted while being read" : json is null ? $"{key}: not a zstd record" : $"{key}: not an instance record of schema {InstanceRecord.CurrentSchema} for its folder";
        }
        catch (JsonException ex)
        {
            problem = $"{key}: damaged JSON ({ex.Message})";
        }
        catch (HeapDumpStoreException ex)
        {
            problem = $"{key}: {ex.Message}";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A record is input anyone with write access to the bucket may have put there, read while its instance may be
            // rewriting it: whatever reading it throws makes it one damaged record, never a failed fleet view.
            problem = $"{key}: unreadable ({ex.GetType().Name}: {ex.Message})";
        }

        lock (problems)
        {
            problems.Add(problem);
        }

        return null;
    }

    private static bool IsWhole(InstanceDump dump) =>
        dump is { Id: not null, Key: not null, Trigger: not null } && (dump.Leaks ?? []).All(leak => leak is { Fingerprint: not null, Kind: not null, Headline: not null });

    [LoggerMessage(EventId = 2303, Level = LogLevel.Debug, Message = "Fleet read: {Objects} objects, {Records} records, {Requests} requests in {DurationMs:0} ms; {Ignored} objects not HeapDiag's and {Damaged} damaged records ignored")]
    private static partial void LogScanned(ILogger logger, int objects, int records, int requests, double durationMs, int ignored, int damaged);
}

/// <summary>One read of the bucket: the records, the dumps listed (app, instance, id, key), and what it took.</summary>
internal sealed record FleetSnapshot(string Source, IReadOnlyList<InstanceRecord> Records, IReadOnlyList<(string App, string Instance, HeapDumpId Id, string Key)> Dumps, FleetScan Scan);
