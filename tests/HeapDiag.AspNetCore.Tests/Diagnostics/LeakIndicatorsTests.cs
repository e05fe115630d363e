using HeapDiag.AspNetCore.Diagnostics;

namespace HeapDiag.AspNetCore.Tests.Diagnostics;

/// <summary>Each leak indicator fires past its threshold and not below it; the growth one follows Monitor:LeakGrowthMbPerHour.</summary>
public sealed class LeakIndicatorsTests
{
    private const long Mb = 1024 * 1024;
    private static readonly GrowthTrend NoWindow = new(0, 0, 0, false);

    [Fact]
    public void A_healthy_process_has_no_indicators()
    {
        var analysis = Analyze();

        Assert.Empty(analysis.PotentialLeaks);
        Assert.StartsWith("No obvious leak indicators", analysis.Recommendation, StringComparison.Ordinal);
    }

    [Fact]
    public void The_rss_over_uptime_estimate_follows_the_configured_growth_threshold_once_the_process_is_an_hour_old()
    {
        var growth = new MemoryGrowthRate(60 * Mb / 3600.0, 60, MemoryGrowthSources.RssOverUptime);
        var strict = new MemoryMonitorOptions { LeakGrowthMbPerHour = 50 };

        Assert.Empty(Analyze(growth: growth, uptimeSeconds: 7200).PotentialLeaks);
        Assert.Contains("High memory growth rate: 60.0 MB/hour", Assert.Single(Analyze(growth: growth, uptimeSeconds: 7200, monitor: strict).PotentialLeaks), StringComparison.Ordinal);
        Assert.Empty(Analyze(growth: growth, uptimeSeconds: 600, monitor: strict).PotentialLeaks);
    }

    [Fact]
    public void Sustained_growth_over_the_monitors_window_is_reported_with_its_metric()
    {
        var growth = new MemoryGrowthRate(1000, 300, MemoryGrowthSources.Samples);
        var window = new GrowthTrend(300 * Mb / 3600.0, 20, 0.9, true);

        var leak = Assert.Single(Analyze(growth: growth, window: window).PotentialLeaks);

        Assert.StartsWith("Sustained memory growth: WorkingSet rising 300.0 MB/hour over the last 20 samples", leak, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("timers", 101, "101 active timers")]
    [InlineData("timers", 100, null)]
    [InlineData("descriptors", 501, "501 open file descriptors")]
    [InlineData("finalizer", 1001, "1001 objects waiting for finalization")]
    [InlineData("contexts", 11, "11 collectible AssemblyLoadContexts")]
    public void Counters_past_their_thresholds_are_reported_with_their_number(string counter, int value, string? expected)
    {
        var runtime = Runtime() with
        {
            ActiveTimers = counter == "timers" ? value : 0,
            OpenFileDescriptors = counter == "descriptors" ? value : 10,
            CollectibleAssemblyLoadContexts = counter == "contexts" ? value : 0,
        };
        var gc = Gc() with { FinalizationPendingCount = counter == "finalizer" ? value : 0 };

        var leaks = Analyze(runtime: runtime, gc: gc).PotentialLeaks;

        if (expected is null)
        {
            Assert.Empty(leaks);
        }
        else
        {
            Assert.StartsWith(expected, Assert.Single(leaks), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Native_memory_beyond_the_GC_heap_fragmentation_and_memory_load_are_reported()
    {
        var memory = Memory() with { GcCommittedBytes = 200 * Mb, NativeEstimateBytes = 600 * Mb, GcHeapSizeBytes = 400 * Mb, FragmentedBytes = 250 * Mb };
        var gc = Gc() with { MemoryLoadBytes = 95, HighMemoryLoadThresholdBytes = 100 };

        var leaks = Analyze(memory: memory, gc: gc).PotentialLeaks;

        Assert.Equal(3, leaks.Count);
        Assert.Contains(leaks, l => l.StartsWith("Native memory (600 MB) > GC committed (200 MB)", StringComparison.Ordinal));
        Assert.Contains(leaks, l => l.StartsWith("GC heap fragmentation is 62%", StringComparison.Ordinal));
        Assert.Contains(leaks, l => l.StartsWith("Memory load", StringComparison.Ordinal));
    }

    private static LeakAnalysis Analyze(
        MemoryUsage? memory = null, GcInfo? gc = null, RuntimeCounters? runtime = null, MemoryGrowthRate? growth = null,
        double uptimeSeconds = 60, GrowthTrend? window = null, MemoryMonitorOptions? monitor = null) =>
        LeakIndicators.Analyze(
            memory ?? Memory(), gc ?? Gc(), runtime ?? Runtime(), growth ?? new MemoryGrowthRate(0, 0, MemoryGrowthSources.RssOverUptime),
            uptimeSeconds, window ?? NoWindow, monitor ?? new MemoryMonitorOptions());

    private static MemoryUsage Memory() => new(300 * Mb, 300 * Mb, 300 * Mb, 100 * Mb, 150 * Mb, 1 * Mb, 1000 * Mb, 150 * Mb);

    private static GcInfo Gc() => new(10, 5, 1, 100, 1, false, true, "Interactive", 10 * Mb, 100 * Mb, 1000 * Mb, null, 0, 0);

    private static RuntimeCounters Runtime() => new(20, 8, 0, 5, 0, 100, 1, 0, 50);
}
