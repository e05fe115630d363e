using System.ComponentModel.DataAnnotations;

namespace HeapDiag.AspNetCore;

/// <summary>The memory value the monitor compares with its threshold.</summary>
public enum MonitorMetric
{
    /// <summary>The process's resident set (RSS): what the OS and a container's OOM killer count.</summary>
    WorkingSet,

    /// <summary>Bytes of the GC heap after the last collection.</summary>
    GcHeapSize,

    /// <summary>Bytes the GC has committed from the OS.</summary>
    GcCommitted,
}

/// <summary>
/// Settings under <c>HeapDiagnostics:Monitor</c>. Split as dotnet-monitor's collection rules are: a trigger
/// (<see cref="Trigger"/>: the metric over a threshold), an action (a heap dump) and limits (<see cref="Limits"/>:
/// count, cooldown, re-arming) so production never sees a dump storm. The keys stay flat, as users set them.
/// </summary>
public sealed class MemoryMonitorOptions
{
    /// <summary>Whether the monitor runs. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Sampling period. Default 10 seconds.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00.1", "1.00:00:00", ErrorMessage = "HeapDiagnostics:Monitor:Interval must be at least 00:00:00.1 (and at most a day), for example '00:00:10'.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Which value is compared with the threshold. Default <see cref="MonitorMetric.WorkingSet"/>.</summary>
    [EnumDataType(typeof(MonitorMetric), ErrorMessage = "HeapDiagnostics:Monitor:Metric must be WorkingSet, GcHeapSize or GcCommitted.")]
    public MonitorMetric Metric { get; set; } = MonitorMetric.WorkingSet;

    /// <summary>Automatic dump threshold in bytes. Default 1610612736 (1.5 GiB).</summary>
    [SettingRange(typeof(long), "1", "9223372036854775807", ErrorMessage = "HeapDiagnostics:Monitor:ThresholdBytes must be positive, for example 1610612736 (1.5 GiB).")]
    public long ThresholdBytes { get; set; } = 1_610_612_736;

    /// <summary>
    /// Alternative threshold: this percent of the memory limit the GC sees (the container's cgroup limit, or the
    /// machine's memory). When both are set, the lower threshold wins. Default none.
    /// </summary>
    [SettingRange(0d, 100d, MinimumIsExclusive = true, ErrorMessage = "HeapDiagnostics:Monitor:ThresholdPercentOfLimit must be above 0 and at most 100, for example 80.")]
    public double? ThresholdPercentOfLimit { get; set; }

    /// <summary>Most automatic dumps per process. Default 3.</summary>
    [SettingRange(0, int.MaxValue, ErrorMessage = "HeapDiagnostics:Monitor:MaxAutoDumps must be zero or more, for example 3.")]
    public int MaxAutoDumps { get; set; } = 3;

    /// <summary>Least time between two automatic dumps. Default one hour.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "365.00:00:00", ErrorMessage = "HeapDiagnostics:Monitor:Cooldown must be zero or more, for example '01:00:00'.")]
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// After an automatic dump, the next one needs the metric to grow this many percent above the value at that
    /// dump (or to fall below the threshold and cross it again). Default 20.
    /// </summary>
    [SettingRange(0d, double.MaxValue, ErrorMessage = "HeapDiagnostics:Monitor:RearmGrowthPercent must be zero or more, for example 20.")]
    public double RearmGrowthPercent { get; set; } = 20;

    /// <summary>Growth, in MB per hour over the sample window, above which sustained growth counts as a potential leak. Default 100.</summary>
    [SettingRange(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "HeapDiagnostics:Monitor:LeakGrowthMbPerHour must be positive, for example 100.")]
    public double LeakGrowthMbPerHour { get; set; } = 100;

    /// <summary>The health check reports Degraded above this fraction of the threshold. Default 0.9.</summary>
    [SettingRange(0d, 1d, MinimumIsExclusive = true, ErrorMessage = "HeapDiagnostics:Monitor:HealthDegradedFraction must be above 0 and at most 1, for example 0.9.")]
    public double HealthDegradedFraction { get; set; } = 0.9;

    /// <summary>The trigger: which metric, over which threshold.</summary>
    internal AutoDumpTrigger Trigger => new(Metric, ThresholdBytes, ThresholdPercentOfLimit);

    /// <summary>The limits that keep automatic dumps from storming.</summary>
    internal AutoDumpLimits Limits => new(MaxAutoDumps, Cooldown, RearmGrowthPercent);
}

/// <summary>When an automatic dump is due: <see cref="Metric"/> at or above the lower of the two thresholds.</summary>
internal readonly record struct AutoDumpTrigger(MonitorMetric Metric, long ThresholdBytes, double? ThresholdPercentOfLimit);

/// <summary>How many automatic dumps, how far apart, and how much growth re-arms the monitor after one.</summary>
internal readonly record struct AutoDumpLimits(int MaxAutoDumps, TimeSpan Cooldown, double RearmGrowthPercent);
