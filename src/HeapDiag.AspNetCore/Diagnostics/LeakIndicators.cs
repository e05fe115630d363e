namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>
/// Turns measured values into leak indicators, one sentence each with its number. The thresholds are
/// deliberately conservative: an indicator that fires on every healthy process teaches people to ignore it.
/// </summary>
internal static class LeakIndicators
{
    public const int ActiveTimersThreshold = 100;
    public const int OpenFileDescriptorsThreshold = 500;
    public const long NativeMemoryFloorBytes = 512L * 1024 * 1024;
    public const double RssUptimeMinimumSeconds = 3600;
    public const double FragmentationRatioThreshold = 0.5;
    public const long FragmentationHeapFloorBytes = 100L * 1024 * 1024;
    public const long FinalizerBacklogThreshold = 1000;
    public const int CollectibleContextsThreshold = 10;
    public const double MemoryLoadRatioThreshold = 0.9;

    /// <param name="memory">The process's memory.</param>
    /// <param name="gc">GC counters and settings.</param>
    /// <param name="runtime">Runtime resource counts.</param>
    /// <param name="growth">How fast memory grows, and from what.</param>
    /// <param name="uptimeSeconds">The process's age.</param>
    /// <param name="window">The monitor's trend over its samples.</param>
    /// <param name="monitor">The monitored metric and <c>Monitor:LeakGrowthMbPerHour</c>, the growth that counts as a leak.</param>
    public static LeakAnalysis Analyze(MemoryUsage memory, GcInfo gc, RuntimeCounters runtime, MemoryGrowthRate growth, double uptimeSeconds, GrowthTrend window, MemoryMonitorOptions monitor)
    {
        var leaks = new List<string>();

        if (runtime.ActiveTimers > ActiveTimersThreshold)
        {
            leaks.Add($"{runtime.ActiveTimers} active timers - possible undisposed Timer or PeriodicTimer leak");
        }

        if (runtime.OpenFileDescriptors > OpenFileDescriptorsThreshold)
        {
            leaks.Add($"{runtime.OpenFileDescriptors} open file descriptors - possible file or socket leak");
        }

        if (memory.NativeEstimateBytes > memory.GcCommittedBytes && memory.NativeEstimateBytes > NativeMemoryFloorBytes)
        {
            leaks.Add($"Native memory ({ToMb(memory.NativeEstimateBytes)} MB) > GC committed ({ToMb(memory.GcCommittedBytes)} MB) - leak may be outside the managed heap (native libraries, unmanaged buffers); a heap dump will not show it");
        }

        if (growth.Source == MemoryGrowthSources.Samples)
        {
            // The monitor's window: both the slope and most steps rising (Monitor:LeakGrowthMbPerHour).
            if (window.Sustained)
            {
                leaks.Add($"Sustained memory growth: {monitor.Metric} rising {window.MbPerHour:F1} MB/hour over the last {window.Samples} samples ({window.RisingFraction:P0} of steps up)");
            }
        }
        else if (uptimeSeconds >= RssUptimeMinimumSeconds && growth.MbPerHour > monitor.LeakGrowthMbPerHour)
        {
            // rss/uptime is meaningless right after start (the whole RSS looks like growth), so it only counts
            // once the process is an hour old.
            leaks.Add($"High memory growth rate: {growth.MbPerHour:F1} MB/hour ({growth.Source})");
        }

        if (memory.GcHeapSizeBytes > FragmentationHeapFloorBytes && memory.FragmentedBytes > memory.GcHeapSizeBytes * FragmentationRatioThreshold)
        {
            leaks.Add($"GC heap fragmentation is {100.0 * memory.FragmentedBytes / memory.GcHeapSizeBytes:F0}% ({ToMb(memory.FragmentedBytes)} MB) - pinned buffers or large-object churn");
        }

        if (gc.FinalizationPendingCount > FinalizerBacklogThreshold)
        {
            leaks.Add($"{gc.FinalizationPendingCount} objects waiting for finalization - finalizer backlog; dispose objects instead of relying on finalizers");
        }

        if (runtime.CollectibleAssemblyLoadContexts > CollectibleContextsThreshold)
        {
            leaks.Add($"{runtime.CollectibleAssemblyLoadContexts} collectible AssemblyLoadContexts alive - load contexts are not unloading");
        }

        if (gc.HighMemoryLoadThresholdBytes > 0 && gc.MemoryLoadBytes >= gc.HighMemoryLoadThresholdBytes * MemoryLoadRatioThreshold)
        {
            leaks.Add($"Memory load {ToMb(gc.MemoryLoadBytes)} MB is near the high-memory-load threshold {ToMb(gc.HighMemoryLoadThresholdBytes)} MB - the process is close to its memory limit");
        }

        var recommendation = leaks.Count > 0
            ? $"WARNING: {leaks.Count} potential leak indicator(s) found. See potentialLeaks."
            : "No obvious leak indicators. Capture a heap dump to see which objects are retained.";
        return new LeakAnalysis(leaks, recommendation);
    }

    private static long ToMb(long bytes) => bytes / (1024 * 1024);
}

/// <summary>The values of <see cref="MemoryGrowthRate.Source"/>.</summary>
internal static class MemoryGrowthSources
{
    public const string RssOverUptime = "rss/uptime";
    public const string Samples = "samples";
}
