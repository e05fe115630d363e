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
    private readonly IMemorySampler _sampler;
    private readonly MemoryTrend _trend;
    private readonly AutoDumpAction _action;
    private readonly TimeProvider _timeProvider;
    private readonly MemoryMonitorOptions _options;
    private readonly ILogger<MemoryMonitor> _logger;
    private readonly AutoDumpPolicy _policy;
    private readonly Lock _stateLock = new();
    private readonly List<AutoDumpRecord> _autoDumps = [];
    private bool _inGrowthEpisode;

    // The automatic dump whose threshold crossing was last logged (ticks run one at a time, so no lock).
    private int _announcedDump;
    private MonitorThreshold? _threshold;
    private MonitorError? _lastError;
    private AutoDumpDecision? _lastDecision;

    public MemoryMonitor(
        IMemorySampler sampler,
        MemoryTrend trend,
        AutoDumpAction action,
        TimeProvider timeProvider,
        IOptions<MemoryMonitorOptions> options,
        ILogger<MemoryMonitor> logger)
    {
        _sampler = sampler;
        _trend = trend;
        _action = action;
        _timeProvider = timeProvider;
        _options = options.Value;
        _logger = logger;
        _policy = new AutoDumpPolicy(_options.Limits);
    }

    /// <summary>Runs one tick. Never throws: a failing tick is logged and recorded, and the next one runs.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        try
        {
            var sample = _sampler.Sample();
            var value = sample.Value(_options.Metric);
            _trend.Add(sample, value);
            // Resolved again only when the memory limit moves, so a steady-state tick allocates nothing here.
            var currentThreshold = _threshold is { } known && known.LimitBytes == sample.TotalAvailableMemoryBytes
                ? known
                : MonitorThreshold.Resolve(_options.Trigger, sample.TotalAvailableMemoryBytes);
            lock (_stateLock)
            {
                _threshold = currentThreshold;
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
            LogTickFailed(_logger, ex);
        }
    }

    public MonitorStatus Status(bool includeWindow)
    {
        var growth = _trend.Trend(_options.LeakGrowthMbPerHour);
        var last = _trend.LastSample;
        lock (_stateLock)
        {
            return new MonitorStatus(
                Enabled: _options.Enabled,
                Metric: _options.Metric.ToString(),
                IntervalSeconds: _options.Interval.TotalSeconds,
                Threshold: _threshold ?? MonitorThreshold.Resolve(_options.Trigger, last?.TotalAvailableMemoryBytes ?? LimitBeforeFirstTick()),
                LastSample: last is { } sample ? new MonitorSample(sample.Timestamp, sample.Value(_options.Metric), sample.WorkingSetBytes, sample.GcHeapSizeBytes, sample.GcCommittedBytes) : null,
                Growth: new MonitorGrowth(growth.BytesPerSecond, growth.MbPerHour, growth.Samples, growth.RisingFraction, growth.Sustained),
                AutoDumps: [.. _autoDumps],
                MaxAutoDumps: _options.MaxAutoDumps,
                AutoDumpsRemaining: Math.Max(0, _options.MaxAutoDumps - _policy.Attempts),
                NextAllowedAt: _policy.NextAllowedAt,
                RearmAtBytes: _policy.RearmAtBytes,
                LastError: _lastError,
                LastDecision: _lastDecision?.ToString(),
                Window: includeWindow ? _trend.Window() : null);
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
            return _sampler.Sample().TotalAvailableMemoryBytes;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return 0;
        }
    }

    private void WatchGrowth()
    {
        var growth = _trend.Trend(_options.LeakGrowthMbPerHour);

        // One warning per episode of sustained growth, not one per sample: a log that repeats every 10 s is muted.
        if (growth.Sustained && !_inGrowthEpisode)
        {
            _inGrowthEpisode = true;
            LogSustainedGrowth(_logger, _options.Metric.ToString(), growth.MbPerHour, growth.Samples, growth.RisingFraction * 100);
        }
        else if (!growth.Sustained && _inGrowthEpisode)
        {
            _inGrowthEpisode = false;
            LogGrowthEnded(_logger, _options.Metric.ToString(), growth.MbPerHour);
        }
    }

    private async Task MaybeCaptureAsync(long value, MonitorThreshold currentThreshold, DateTimeOffset now, CancellationToken cancellationToken)
    {
        int dumpNumber;
        lock (_stateLock)
        {
            // Status reads the policy under this lock too: it never sees it half-updated.
            _lastDecision = _policy.Evaluate(value, currentThreshold.Bytes, now);
            if (_lastDecision != AutoDumpDecision.Capture)
            {
                return;
            }

            dumpNumber = _policy.Attempts + 1;
        }

        // Once per dump: while a manual capture holds the gate the same dump is tried again every tick.
        if (dumpNumber != _announcedDump)
        {
            _announcedDump = dumpNumber;
            LogThresholdCrossed(_logger, _options.Metric.ToString(), value, currentThreshold.Bytes, currentThreshold.Source, dumpNumber);
        }

        var result = await _action.CaptureAsync(dumpNumber, cancellationToken);
        if (result.Failure == HeapDumpFailure.Busy)
        {
            // A manual capture holds the gate: nothing was attempted, so try again next tick.
            return;
        }

        lock (_stateLock)
        {
            _policy.RecordAttempt(value, now);
            _autoDumps.Add(new AutoDumpRecord(dumpNumber, now, value, result.Success, result.Id, result.Success ? null : result.Error));
        }

        if (result.Success)
        {
            // Part of the tick on purpose: the report runs one analysis at a time, after the dump and before the
            // next sample, so it never competes with a second automatic dump.
            await _action.ReportAsync(result.Id!, cancellationToken);
        }
        else
        {
            RecordError($"Automatic dump {dumpNumber} failed: {result.Error}");
        }

        var afterReport = _sampler.Sample().Value(_options.Metric);
        lock (_stateLock)
        {
            _policy.RaiseRearmBaseline(afterReport);
        }
    }

    private void RecordError(string message)
    {
        lock (_stateLock)
        {
            _lastError = new MonitorError(_timeProvider.GetUtcNow(), message);
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
