namespace HeapDiag.AspNetCore.Diagnostics;

// What GET /memory answers and what is written beside every dump. A value the platform cannot give is null.

/// <summary>A point-in-time picture of the process's memory, with leak indicators.</summary>
internal sealed record MemoryDiagnostics(
    DateTimeOffset Timestamp,
    InstanceInfo Instance,
    string Trigger,
    int DumpNumber,
    double UptimeSeconds,
    MemoryUsage MemoryUsage,
    IReadOnlyList<GenerationInfo> Generations,
    GcInfo Gc,
    MemoryGrowthRate MemoryGrowthRate,
    RuntimeCounters Runtime,
    ResourceUsage ResourceUsage,
    ContainerInfo? Container,
    string? SmapsRollup,
    LeakAnalysis Analysis,
    PlatformInfo Platform)
{
    /// <summary>
    /// For automatic dumps: what the dump holds and what grew since the previous automatic dump, added once the
    /// dump has been analysed. Null everywhere else.
    /// </summary>
    public AutoDumpLeakReport? LeakReport { get; init; }

    /// <summary>
    /// SHA-256 (hex) of the dump written after these diagnostics, added once the dump is complete; null for a capture
    /// that failed and for diagnostics that are not a dump's.
    /// </summary>
    public string? DumpSha256 { get; init; }

    /// <summary>Resident memory by kind, with its growth since start; null where there is no <c>/proc/self/smaps</c>.</summary>
    public MemoryMaps.MemoryMap? MemoryMap { get; init; }
}

/// <summary>Which process this is: its id, plus a random id that is new for every process (so two processes that reuse an id are told apart).</summary>
internal sealed record InstanceInfo(int ProcessId, string SessionId, string MachineName);

/// <summary>How much memory the process uses, in bytes.</summary>
internal sealed record MemoryUsage(
    long WorkingSetBytes,
    long PrivateBytes,
    long PeakWorkingSetBytes,
    long GcHeapSizeBytes,
    long GcCommittedBytes,
    long FragmentedBytes,
    long TotalAllocatedBytes,
    long NativeEstimateBytes);

/// <summary>Size and fragmentation of one GC generation after the last collection, in bytes.</summary>
internal sealed record GenerationInfo(string Name, long SizeAfterBytes, long FragmentationAfterBytes, long SizeBeforeBytes);

/// <summary>Garbage collector counters and settings.</summary>
internal sealed record GcInfo(
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    double TotalPauseMilliseconds,
    double PauseTimePercentage,
    bool IsServerGc,
    bool? IsConcurrent,
    string LatencyMode,
    long MemoryLoadBytes,
    long HighMemoryLoadThresholdBytes,
    long TotalAvailableMemoryBytes,
    long? HeapHardLimitBytes,
    long FinalizationPendingCount,
    long PinnedObjectsCount);

/// <summary>
/// How fast memory grows. <see cref="Source"/> says how it was computed: <c>rss/uptime</c> (a rough estimate,
/// the whole working set divided by the process age) or <c>samples</c> (a slope over the monitor's samples).
/// </summary>
internal sealed record MemoryGrowthRate(double BytesPerSecond, double MbPerHour, string Source);

/// <summary>Counts of runtime resources that leak when code forgets to dispose them.</summary>
internal sealed record RuntimeCounters(
    int Threads,
    int ThreadPoolThreads,
    long ThreadPoolQueueLength,
    long ActiveTimers,
    long LockContentions,
    int LoadedAssemblies,
    int AssemblyLoadContexts,
    int CollectibleAssemblyLoadContexts,
    int? OpenFileDescriptors);

/// <summary>CPU time the process has used, in seconds.</summary>
internal sealed record ResourceUsage(double UserCpuSeconds, double SystemCpuSeconds);

/// <summary>
/// The control group's memory limit and usage, when the process runs in one. <see cref="MemoryWorkingSetBytes"/> is
/// the usage less the inactive page cache (what the kubelet calls the working set); <see cref="PageCacheBytes"/> is all
/// of the group's page cache, active or not (memory.stat's <c>file</c>, v1 <c>total_cache</c>).
/// </summary>
internal sealed record ContainerInfo(int CgroupVersion, long? MemoryLimitBytes, long? MemoryUsageBytes, long? MemoryWorkingSetBytes, long? PageCacheBytes = null);

/// <summary>Leak indicators, each a sentence with its number, and what to do next.</summary>
internal sealed record LeakAnalysis(IReadOnlyList<string> PotentialLeaks, string Recommendation);

/// <summary>What the process runs on.</summary>
internal sealed record PlatformInfo(string Os, string Architecture, string RuntimeVersion, string? AppVersion, string LibraryVersion);
