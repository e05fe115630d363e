using System.Reflection;
using System.Text.Json;
using HeapDiag.Analysis;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Fleet;

/// <summary>
/// Keeps this instance's <see cref="InstanceRecord"/> in the bucket: written at start, at each dump and result the store
/// tells (<see cref="DumpActivity"/>), and otherwise once every <c>Egress:InstanceRecordInterval</c> — one small PUT, so 200
/// instances at the default 5 minutes cost 40 requests a minute in all. Without a bucket it does nothing. A failed write is
/// logged and tried again at the next interval; it never stops the app.
/// </summary>
internal sealed partial class InstanceRecordWriter(
    HeapDumpStore store, DumpActivity activity, MemoryMonitor monitor, ProcessInstance instance, IOptions<HeapDumpEgressOptions> options, TimeProvider time, ILogger<InstanceRecordWriter> logger)
    : BackgroundService
{
    /// <summary>The most dumps a record lists: the fleet needs the last few of each instance, and the record stays small.</summary>
    public const int MaxDumps = 20;

    private const int MaxLeaksPerDump = 5;

    private readonly List<InstanceDump> _dumps = [];
    private int _dumpsTaken;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.Bucket is not { } bucket)
        {
            return;
        }

        var interval = options.Value.InstanceRecordInterval;
        try
        {
            await WriteAsync(bucket, interval, stoppingToken);
            var due = Task.Delay(interval, time, stoppingToken);
            while (true)
            {
                var done = await Task.WhenAny(due, activity.Events.WaitToReadAsync(stoppingToken).AsTask());
                await done;
                if (done == due)
                {
                    due = Task.Delay(interval, time, stoppingToken);
                }

                while (activity.Events.TryRead(out var dumpEvent))
                {
                    try
                    {
                        Apply(dumpEvent);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // A result the record cannot use must not end the writer: a failed background service stops the app.
                        LogResultUnreadable(logger, ex);
                    }
                }

                await WriteAsync(bucket, interval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The app is stopping.
        }
    }

    /// <summary>The record as it stands now.</summary>
    public InstanceRecord Current(IDumpBucket bucket, TimeSpan interval)
    {
        var status = monitor.Status(includeWindow: false);
        var sample = status.LastSample is { } last ? new InstanceSample(last.Timestamp, last.ValueBytes, last.WorkingSetBytes, last.GcHeapSizeBytes) : null;
        return new InstanceRecord(
            InstanceRecord.CurrentSchema, bucket.Layout.AppName, bucket.Layout.InstanceFolder, HostName(), AppVersion(), instance.StartTime, time.GetUtcNow(), interval.TotalSeconds,
            sample, status.Metric, status.Threshold.Bytes, _dumpsTaken, [.. _dumps]);
    }

    private async Task WriteAsync(IDumpBucket bucket, TimeSpan interval, CancellationToken cancellationToken)
    {
        try
        {
            await store.PutInstanceRecordAsync(JsonSerializer.SerializeToUtf8Bytes(Current(bucket, interval), HeapDiagnosticsJsonContext.Default.InstanceRecord), cancellationToken);
        }
        catch (HeapDumpStoreException ex)
        {
            LogWriteFailed(logger, ex.Message, ex.Fix);
        }
    }

    private void Apply(DumpEvent dumpEvent)
    {
        var index = _dumps.FindIndex(dump => dump.Id == dumpEvent.Id.ToString());
        if (dumpEvent.Kind == DumpEvent.Shipped && index < 0)
        {
            _dumpsTaken++;
            _dumps.Insert(0, new InstanceDump(dumpEvent.Id.ToString(), dumpEvent.Key!, dumpEvent.Id.CreatedUtc, dumpEvent.Id.Trigger, null, null));
            _dumps.RemoveRange(Math.Min(_dumps.Count, MaxDumps), Math.Max(0, _dumps.Count - MaxDumps));
            return;
        }

        // A result of a dump this instance did not ship (fetched from another's folder) is not this instance's. The JSON
        // reader leaves a missing list null: a result without its suspects tells none (rather than a warning, event 2302).
        if (index >= 0 && dumpEvent.Content is { } content)
        {
            _dumps[index] = dumpEvent.Kind switch
            {
                DumpEvent.Suspects when Read(content, HeapDiagnosticsJsonContext.Default.LeakSuspectReport) is { Suspects: { } suspects } => _dumps[index] with { Leaks = Leaks(suspects) },
                DumpEvent.LeakReport when Read(content, HeapDiagnosticsJsonContext.Default.AutoDumpLeakReport) is { } report => _dumps[index] with
                {
                    ReportHeadline = report.Headline,
                    Leaks = _dumps[index].Leaks ?? (report.Suspects is { Count: > 0 } suspects ? Leaks(suspects) : null),
                },
                _ => _dumps[index],
            };
        }
    }

    private static List<InstanceLeak> Leaks(IEnumerable<LeakSuspect> suspects) =>
        [.. suspects.Take(MaxLeaksPerDump).Select(s => new InstanceLeak(s.Fingerprint, s.Kind, s.Headline, s.Pattern?.Id, s.AccumulationPoint.RetainedBytes))];

    private T? Read<T>(byte[] content, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(content, type);
        }
        catch (JsonException ex)
        {
            LogResultUnreadable(logger, ex);
            return null;
        }
    }

    // In Kubernetes the host name is the pod's name.
    private static string HostName() => string.Concat(Environment.MachineName.Select(c => c is >= ' ' and <= '~' ? c : '?'));

    private static string? AppVersion() =>
        Assembly.GetEntryAssembly() is { } entry ? entry.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? entry.GetName().Version?.ToString() : null;

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "HeapDiag could not write this instance's record for the fleet view: {Error} {Fix}")]
    private static partial void LogWriteFailed(ILogger logger, string error, string? fix);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "HeapDiag could not read a result for this instance's record")]
    private static partial void LogResultUnreadable(ILogger logger, Exception exception);
}
