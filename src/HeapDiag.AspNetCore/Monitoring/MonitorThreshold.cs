namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>The threshold in force and where it came from: <c>bytes</c> (ThresholdBytes) or <c>percentOfLimit</c>.</summary>
internal sealed record MonitorThreshold(long Bytes, string Source, long ThresholdBytesSetting, double? PercentOfLimit, long? LimitBytes)
{
    public const string FromBytes = "bytes";
    public const string FromPercentOfLimit = "percentOfLimit";

    /// <summary>When both are set, the lower threshold wins: the one that fires before the process is killed.</summary>
    public static MonitorThreshold Resolve(AutoDumpTrigger trigger, long totalAvailableMemoryBytes)
    {
        if (trigger.ThresholdPercentOfLimit is { } percent && totalAvailableMemoryBytes > 0)
        {
            var fromPercent = (long)(totalAvailableMemoryBytes * percent / 100);
            if (fromPercent < trigger.ThresholdBytes)
            {
                return new MonitorThreshold(fromPercent, FromPercentOfLimit, trigger.ThresholdBytes, percent, totalAvailableMemoryBytes);
            }
        }

        return new MonitorThreshold(trigger.ThresholdBytes, FromBytes, trigger.ThresholdBytes, trigger.ThresholdPercentOfLimit, totalAvailableMemoryBytes);
    }
}
