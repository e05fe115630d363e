namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>The threshold in force and where it came from: <c>bytes</c> (ThresholdBytes) or <c>percentOfLimit</c>.</summary>
internal sealed record MonitorThreshold(long Bytes, string Source, long ThresholdBytesSetting, double? PercentOfLimit, long? LimitBytes)
{
    public const string FromBytes = "bytes";
    public const string FromPercentOfLimit = "percentOfLimit";

    /// <summary>When both are set, the lower threshold wins: the one that fires before the process is killed.</summary>
    public static MonitorThreshold Resolve(MemoryMonitorOptions options, long totalAvailableMemoryBytes)
    {
        if (options.ThresholdPercentOfLimit is { } percent && totalAvailableMemoryBytes > 0)
        {
            var fromPercent = (long)(totalAvailableMemoryBytes * percent / 100);
            if (fromPercent < options.ThresholdBytes)
            {
                return new MonitorThreshold(fromPercent, FromPercentOfLimit, options.ThresholdBytes, percent, totalAvailableMemoryBytes);
            }
        }

        return new MonitorThreshold(options.ThresholdBytes, FromBytes, options.ThresholdBytes, options.ThresholdPercentOfLimit, totalAvailableMemoryBytes);
    }
}
