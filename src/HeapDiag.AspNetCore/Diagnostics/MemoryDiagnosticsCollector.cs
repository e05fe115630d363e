using System.IO.Enumeration;
using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>
/// Measures the process: the .NET counterpart of the seed's captureMemoryDiagnostics. Reads counters only;
/// it never forces a GC, so calling it does not disturb the process it describes.
/// </summary>
internal sealed class MemoryDiagnosticsCollector(
    ProcessInstance instance,
    MemoryTrend trend,
    TimeProvider timeProvider,
    IOptions<HeapDiagnosticsOptions> options)
{
    private static readonly string[] GenerationNames = ["gen0", "gen1", "gen2", "loh", "poh"];

    private static readonly TimeSpan SmapsRollupMaxAge = TimeSpan.FromSeconds(1);

    private readonly Lock sharedGate = new();
    private TimedText? smapsRollup;
    private Task<MemoryDiagnostics>? pending;

    private readonly string libraryVersion = typeof(MemoryDiagnosticsCollector).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private readonly string? appVersion = Assembly.GetEntryAssembly()?
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    // GC settings are fixed at start, so they are read once. An absent key means "not reported", hence null.
    private readonly bool? concurrentGc = GC.GetConfigurationVariables().TryGetValue("ConcurrentGC", out var concurrent) && concurrent is bool isConcurrent ? isConcurrent : null;
    private readonly long? heapHardLimit = GC.GetConfigurationVariables().TryGetValue("GCHeapHardLimit", out var limit) && limit is long hardLimit && hardLimit > 0 ? hardLimit : null;

    /// <summary>
    /// Measures for a <c>GET /memory</c> request. Requests that arrive while a measurement is being taken share it
    /// instead of each taking their own: under a burst of callers (a dashboard, a retrying script) the process is
    /// measured once per round, not once per caller, and no answer is older than the request that waited for it.
    /// </summary>
    public Task<MemoryDiagnostics> CollectSharedAsync()
    {
        TaskCompletionSource<MemoryDiagnostics>? leader = null;
        Task<MemoryDiagnostics> shared;
        lock (sharedGate)
        {
            if (pending is null)
            {
                leader = new TaskCompletionSource<MemoryDiagnostics>(TaskCreationOptions.RunContinuationsAsynchronously);
                pending = leader.Task;
            }

            shared = pending;
        }

        if (leader is not null)
        {
            try
            {
                leader.SetResult(Collect(DiagnosticsTriggers.Request, dumpNumber: 0));
            }
            catch (Exception ex)
            {
                leader.SetException(ex);
            }
            finally
            {
                lock (sharedGate)
                {
                    pending = null;
                }
            }
        }

        return shared;
    }

    public MemoryDiagnostics Collect(string trigger, int dumpNumber)
    {
        var now = timeProvider.GetUtcNow();
        var uptimeSeconds = Math.Max(0, (now - instance.StartTime).TotalSeconds);
        var gcInfo = GC.GetGCMemoryInfo(GCKind.Any);

        var process = ProcessMemory.Read();
        var workingSet = process.WorkingSetBytes;

        var memory = new MemoryUsage(
            WorkingSetBytes: workingSet,
            PrivateBytes: process.PrivateBytes,
            PeakWorkingSetBytes: process.PeakWorkingSetBytes,
            GcHeapSizeBytes: gcInfo.HeapSizeBytes,
            GcCommittedBytes: gcInfo.TotalCommittedBytes,
            FragmentedBytes: gcInfo.FragmentedBytes,
            TotalAllocatedBytes: GC.GetTotalAllocatedBytes(precise: false),
            NativeEstimateBytes: Math.Max(0, workingSet - gcInfo.TotalCommittedBytes));

        var generations = new List<GenerationInfo>(GenerationNames.Length);
        var generationInfo = gcInfo.GenerationInfo;
        for (var i = 0; i < generationInfo.Length && i < GenerationNames.Length; i++)
        {
            generations.Add(new GenerationInfo(GenerationNames[i], generationInfo[i].SizeAfterBytes, generationInfo[i].FragmentationAfterBytes, generationInfo[i].SizeBeforeBytes));
        }

        var gc = new GcInfo(
            Gen0Collections: GC.CollectionCount(0),
            Gen1Collections: GC.CollectionCount(1),
            Gen2Collections: GC.CollectionCount(2),
            TotalPauseMilliseconds: GC.GetTotalPauseDuration().TotalMilliseconds,
            PauseTimePercentage: gcInfo.PauseTimePercentage,
            IsServerGc: GCSettings.IsServerGC,
            IsConcurrent: concurrentGc,
            LatencyMode: GCSettings.LatencyMode.ToString(),
            MemoryLoadBytes: gcInfo.MemoryLoadBytes,
            HighMemoryLoadThresholdBytes: gcInfo.HighMemoryLoadThresholdBytes,
            TotalAvailableMemoryBytes: gcInfo.TotalAvailableMemoryBytes,
            HeapHardLimitBytes: heapHardLimit,
            FinalizationPendingCount: gcInfo.FinalizationPendingCount,
            PinnedObjectsCount: gcInfo.PinnedObjectsCount);

        var runtime = new RuntimeCounters(
            Threads: process.Threads,
            ThreadPoolThreads: ThreadPool.ThreadCount,
            ThreadPoolQueueLength: ThreadPool.PendingWorkItemCount,
            ActiveTimers: Timer.ActiveCount,
            LockContentions: Monitor.LockContentionCount,
            LoadedAssemblies: AppDomain.CurrentDomain.GetAssemblies().Length,
            AssemblyLoadContexts: AssemblyLoadContext.All.Count(),
            CollectibleAssemblyLoadContexts: AssemblyLoadContext.All.Count(context => context.IsCollectible),
            OpenFileDescriptors: CountOpenFileDescriptors());

        // The monitor's window gives a real slope; without it (monitor off, or just started) the seed's rss/uptime.
        var window = trend.Trend(options.Value.Monitor.LeakGrowthMbPerHour);
        MemoryGrowthRate growth;
        if (window.Samples >= 2)
        {
            growth = new MemoryGrowthRate(window.BytesPerSecond, window.MbPerHour, MemoryGrowthSources.Samples);
        }
        else
        {
            var bytesPerSecond = uptimeSeconds > 0 ? workingSet / uptimeSeconds : 0;
            growth = new MemoryGrowthRate(bytesPerSecond, bytesPerSecond * 3600 / (1024 * 1024), MemoryGrowthSources.RssOverUptime);
        }

        var cpu = Environment.CpuUsage;
        return new MemoryDiagnostics(
            Timestamp: now,
            Instance: new InstanceInfo(instance.ProcessId, instance.SessionId, Environment.MachineName),
            Trigger: trigger,
            DumpNumber: dumpNumber,
            UptimeSeconds: uptimeSeconds,
            MemoryUsage: memory,
            Generations: generations,
            Gc: gc,
            MemoryGrowthRate: growth,
            Runtime: runtime,
            ResourceUsage: new ResourceUsage(cpu.UserTime.TotalSeconds, cpu.PrivilegedTime.TotalSeconds),
            Container: CgroupMemory.Read(),
            SmapsRollup: !options.Value.IncludeSmapsRollup ? null : trigger == DiagnosticsTriggers.Request ? RecentSmapsRollup() : ReadSmapsRollup(),
            Analysis: LeakIndicators.Analyze(memory, gc, runtime, growth, uptimeSeconds, window, options.Value.Monitor.Metric),
            Platform: new PlatformInfo(RuntimeInformation.OSDescription, RuntimeInformation.ProcessArchitecture.ToString(), RuntimeInformation.FrameworkDescription, appVersion, libraryVersion));
    }

    private static int? CountOpenFileDescriptors()
    {
        // fdinfo has one regular file per descriptor; enumerating fd itself would stat every link's target.
        var directory = OperatingSystem.IsLinux() ? "/proc/self/fdinfo" : OperatingSystem.IsMacOS() ? "/dev/fd" : null;
        if (directory is null || !Directory.Exists(directory))
        {
            return null;
        }

        try
        {
            // Counts entries without building a path string for each of them.
            return new FileSystemEnumerable<bool>(directory, static (ref FileSystemEntry _) => true).Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// smaps_rollup costs the kernel a walk over every mapping (milliseconds for a large process), by far the most
    /// expensive part of <c>GET /memory</c>; requests reuse a reading up to <see cref="SmapsRollupMaxAge"/> old.
    /// Dump diagnostics always read it fresh.
    /// </summary>
    private string? RecentSmapsRollup()
    {
        var now = timeProvider.GetTimestamp();
        var cached = smapsRollup;
        if (cached is not null && timeProvider.GetElapsedTime(cached.ReadAt, now) < SmapsRollupMaxAge)
        {
            return cached.Text;
        }

        var text = ReadSmapsRollup();
        smapsRollup = new TimedText(text, now);
        return text;
    }

    private static string? ReadSmapsRollup()
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.ReadAllText("/proc/self/smaps_rollup") : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private sealed record TimedText(string? Text, long ReadAt);
}
