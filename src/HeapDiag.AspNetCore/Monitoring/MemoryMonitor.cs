using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// One monitor tick: sample, add to the window, watch the trend, and — past the threshold, within the limits —
/// capture a dump with trigger <c>auto</c> through the same capture service as manual dumps (same gate, disk guard
/// and retention), then have it analysed into a leak report. Kept apart from the hosted loop so tests can drive ticks with a fake clock.
/// </summary>
internal sealed partial class MemoryMonitor
{
    private readonly IMemorySampler sampler;
    private readonly MemoryTrend trend;
    private readonly AutoDumpAction action;
    private readonly TimeProvider timeProvider;
    private readonly MemoryMonitorOptions options;
    private readonly ILogger<MemoryMonitor> logger;
    private readonly AutoDumpPolicy policy;
    private readonly Lock stateLock = new();
    private readonly List<AutoDumpRecord> autoDumps = [];
    private bool inGrowthEpisode;
    private MonitorThreshold? threshold;
    private MonitorError? lastError;
    private AutoDumpDecision? lastDecision;

    public MemoryMonitor(
        IMemorySampler sampler,
        MemoryTrend trend,
        AutoDumpAction action,
        TimeProvider timeProvider,
        IOptions<MemoryMonitorOptions> options,
        ILogger<MemoryMonitor> logger)
    {
        this.sampler = sampler;
        this.trend = trend;
        this.action = action;
        this.timeProvider = timeProvider;
        this.options = options.Value;
        this.logger = logger;
        policy = new AutoDumpPolicy(this.options.Limits);
    }

    /// <summary>Runs one tick. Never throws: a failing tick is logged and recorded, and the next one runs.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var sample = sampler.Sample();
            var value = sample.Value(options.Metric);
            trend.Add(sample, value);
            // Resolved again only when the memory limit moves, so a steady-state tick allocates nothing here.
            var currentThreshold = threshold is { } known && known.LimitBytes == sample.TotalAvailableMemoryBytes
                ? known
                : MonitorThreshold.Resolve(options.Trigger, sample.TotalAvailableMemoryBytes);
            lock (stateLock)
            {
                threshold = currentThreshold;
            }

            WatchGrowth();
            await MaybeCaptureAsync(value, currentThreshold, sample.Timestamp, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            RecordError(ex.Message);
            LogTickFailed(logger, ex);
        }
    }

    public MonitorStatus Status(bool includeWindow)
    {
        var growth = trend.Trend(options.LeakGrowthMbPerHour);
        var last = trend.LastSample;
        lock (stateLock)
        {
            return new MonitorStatus(
                Enabled: options.Enabled,
                Metric: options.Metric.ToString(),
                IntervalSeconds: options.Interval.TotalSeconds,
                Threshold: threshold ?? MonitorThreshold.Resolve(options.Trigger, last?.TotalAvailableMemoryBytes ?? LimitBeforeFirstTick()),
                LastSample: last is { } sample ? new MonitorSample(sample.Timestamp, sample.Value(options.Metric), sample.WorkingSetBytes, sample.GcHeapSizeBytes, sample.GcCommittedBytes) : null,
                Growth: new MonitorGrowth(growth.BytesPerSecond, growth.MbPerHour, growth.Samples, growth.RisingFraction, growth.Sustained),
                AutoDumps: [.. autoDumps],
                MaxAutoDumps: options.MaxAutoDumps,
                AutoDumpsRemaining: Math.Max(0, options.MaxAutoDumps - policy.Attempts),
                NextAllowedAt: policy.NextAllowedAt,
                RearmAtBytes: policy.RearmAtBytes,
                LastError: lastError,
                LastDecision: lastDecision?.ToString(),
                Window: includeWindow ? trend.Window() : null);
        }
    }

    /// <summary>
    /// The memory limit before any tick has resolved the threshold, from the sampler like every other reading; 0
    /// (so only Monitor:ThresholdBytes applies) when the sampler fails, which the next tick reports as an error.
    /// </summary>
    private long LimitBeforeFirstTick()
    {
        try
        {
            return sampler.Sample().TotalAvailableMemoryBytes;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return 0;
        }
    }

    private void WatchGrowth()
    {
        var growth = trend.Trend(options.LeakGrowthMbPerHour);

        // One warning per episode of sustained growth, not one per sample: a log that repeats every 10 s is muted.
        if (growth.Sustained && !inGrowthEpisode)
        {
            inGrowthEpisode = true;
            LogSustainedGrowth(logger, options.Metric.ToString(), growth.MbPerHour, growth.Samples, growth.RisingFraction * 100);
        }
        else if (!growth.Sustained && inGrowthEpisode)
        {
            inGrowthEpisode = false;
            LogGrowthEnded(logger, options.Metric.ToString(), growth.MbPerHour);
        }
    }

    private async Task MaybeCaptureAsync(long value, MonitorThreshold currentThreshold, DateTimeOffset now, CancellationToken cancellationToken)
    {
        int dumpNumber;
        lock (stateLock)
        {
            // Status reads the policy under this lock too: it never sees it half-updated.
            lastDecision = policy.Evaluate(value, currentThreshold.Bytes, now);
            if (lastDecision != AutoDumpDecision.Capture)
            {
                return;
            }

            dumpNumber = policy.Attempts + 1;
        }

        LogThresholdCrossed(logger, options.Metric.ToString(), value, currentThreshold.Bytes, currentThreshold.Source, dumpNumber);
        var result = await action.CaptureAsync(dumpNumber, cancellationToken);
        if (result.Failure == HeapDumpFailure.Busy)
        {
            // A manual capture holds the gate: nothing was attempted, so try again next tick.
            return;
        }

        lock (stateLock)
        {
            policy.RecordAttempt(value, now);
            autoDumps.Add(new AutoDumpRecord(dumpNumber, now, value, result.Success, result.Id, result.Success ? null : result.Error));
        }

        if (result.Success)
        {
            // Part of the tick on purpose: the report runs one analysis at a time, after the dump and before the
            // next sample, so it never competes with a second automatic dump.
            await action.ReportAsync(result.Id!, cancellationToken);
        }
        else
        {
            RecordError($"Automatic dump {dumpNumber} failed: {result.Error}");
        }

        var afterReport = sampler.Sample().Value(options.Metric);
        lock (stateLock)
        {
            policy.RaiseRearmBaseline(afterReport);
        }
    }

    private void RecordError(string message)
    {
        lock (stateLock)
        {
            lastError = new MonitorError(timeProvider.GetUtcNow(), message);
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Memory threshold crossed: {Metric} {Value} bytes >= {Threshold} bytes ({ThresholdSource}); capturing automatic dump {DumpNumber}")]
    private static partial void LogThresholdCrossed(ILogger logger, string metric, long value, long threshold, string thresholdSource, int dumpNumber);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Sustained memory growth: {Metric} rising {MbPerHour:F1} MB/h over the last {Samples} samples ({RisingPercent:F0}% of steps up) - possible leak")]
    private static partial void LogSustainedGrowth(ILogger logger, string metric, double mbPerHour, int samples, double risingPercent);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Sustained memory growth ended: {Metric} now {MbPerHour:F1} MB/h")]
    private static partial void LogGrowthEnded(ILogger logger, string metric, double mbPerHour);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Memory monitor tick failed; the next tick runs as scheduled")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
