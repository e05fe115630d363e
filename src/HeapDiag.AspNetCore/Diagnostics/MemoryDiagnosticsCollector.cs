using System.IO.Enumeration;
using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Text.Json;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>
/// Measures the process: memory, GC, runtime resources, growth and leak indicators. Reads counters only; it never
/// forces a GC, so calling it does not disturb the process it describes.
/// </summary>
internal sealed class MemoryDiagnosticsCollector(
    ProcessInstance instance,
    IMemoryGrowth trend,
    TimeProvider timeProvider,
    MemoryMapHistory memoryMaps,
    IOptions<MemoryMonitorOptions> monitorOptions,
    IOptions<HeapDiagnosticsOptions> options)
{
    private static readonly string[] GenerationNames = ["gen0", "gen1", "gen2", "loh", "poh"];

    private static readonly TimeSpan SmapsRollupMaxAge = TimeSpan.FromSeconds(1);

    private readonly Lock _sharedGate = new();
    private TimedText? _smapsRollup;
    private Task<byte[]>? _pending;

    private readonly string _libraryVersion = typeof(MemoryDiagnosticsCollector).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private readonly string? _appVersion = Assembly.GetEntryAssembly()?
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    // GC settings are fixed at start, so they are read once. An absent key means "not reported", hence null.
    private readonly bool? _concurrentGc = GC.GetConfigurationVariables().TryGetValue("ConcurrentGC", out var concurrent) && concurrent is bool isConcurrent ? isConcurrent : null;
    private readonly long? _heapHardLimit = GC.GetConfigurationVariables().TryGetValue("GCHeapHardLimit", out var limit) && limit is long hardLimit && hardLimit > 0 ? hardLimit : null;

    /// <summary>
    /// Measures for a <c>GET /memory</c> request, as JSON. Requests that arrive while a measurement is being taken
    /// share it instead of each taking their own — and its JSON, serialized once for all of them: under a burst of
    /// callers (a dashboard, a retrying script) the process is measured once per round, not once per caller, and no
    /// answer is older than the request that waited for it.
    /// </summary>
    public Task<byte[]> CollectSharedJsonAsync()
    {
        TaskCompletionSource<byte[]>? leader = null;
        Task<byte[]> shared;
        lock (_sharedGate)
        {
            if (_pending is null)
            {
                leader = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending = leader.Task;
            }

            shared = _pending;
        }

        if (leader is not null)
        {
            try
            {
                leader.SetResult(JsonSerializer.SerializeToUtf8Bytes(Collect(DiagnosticsTriggers.Request, dumpNumber: 0), HeapDiagnosticsJsonContext.Default.MemoryDiagnostics));
            }
            catch (Exception ex)
            {
                leader.SetException(ex);
            }
            finally
            {
                lock (_sharedGate)
                {
                    _pending = null;
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
        var memory = Memory(process, gcInfo);
        var gc = Gc(gcInfo);
        var runtime = Runtime(process);
        var monitor = monitorOptions.Value;
        var window = trend.Trend(monitor.LeakGrowthMbPerHour);
        var growth = Growth(window, memory.WorkingSetBytes, uptimeSeconds);
        var cpu = Environment.CpuUsage;

        // Requests share a map up to a second old (reading smaps costs milliseconds); a dump's diagnostics read it fresh.
        var map = trigger == DiagnosticsTriggers.Request ? memoryMaps.Recent(SmapsRollupMaxAge) : memoryMaps.Take();
        var indicators = LeakIndicators.Analyze(memory, gc, runtime, growth, uptimeSeconds, window, monitor);
        return new MemoryDiagnostics(
            Timestamp: now,
            Instance: new InstanceInfo(instance.ProcessId, instance.SessionId, Environment.MachineName),
            Trigger: trigger,
            DumpNumber: dumpNumber,
            UptimeSeconds: uptimeSeconds,
            MemoryUsage: memory,
            Generations: Generations(gcInfo),
            Gc: gc,
            MemoryGrowthRate: growth,
            Runtime: runtime,
            ResourceUsage: new ResourceUsage(cpu.UserTime.TotalSeconds, cpu.PrivilegedTime.TotalSeconds),
            Container: CgroupMemory.Read(),
            SmapsRollup: !options.Value.IncludeSmapsRollup ? null : trigger == DiagnosticsTriggers.Request ? RecentSmapsRollup() : ReadSmapsRollup(),
            Analysis: MemoryMapIndicators.Add(indicators, map, runtime.LoadedAssemblies),
            Platform: new PlatformInfo(RuntimeInformation.OSDescription, RuntimeInformation.ProcessArchitecture.ToString(), RuntimeInformation.FrameworkDescription, _appVersion, _libraryVersion))
        {
            MemoryMap = map,
        };
    }

    private static MemoryUsage Memory(ProcessMemoryInfo process, GCMemoryInfo gcInfo) => new(
        WorkingSetBytes: process.WorkingSetBytes,
        PrivateBytes: process.PrivateBytes,
        PeakWorkingSetBytes: process.PeakWorkingSetBytes,
        GcHeapSizeBytes: gcInfo.HeapSizeBytes,
        GcCommittedBytes: gcInfo.TotalCommittedBytes,
        FragmentedBytes: gcInfo.FragmentedBytes,
        TotalAllocatedBytes: GC.GetTotalAllocatedBytes(precise: false),
        NativeEstimateBytes: Math.Max(0, process.WorkingSetBytes - gcInfo.TotalCommittedBytes));

    private static List<GenerationInfo> Generations(GCMemoryInfo gcInfo)
    {
        var generations = new List<GenerationInfo>(GenerationNames.Length);
        var generationInfo = gcInfo.GenerationInfo;
        for (var i = 0; i < generationInfo.Length && i < GenerationNames.Length; i++)
        {
            generations.Add(new GenerationInfo(GenerationNames[i], generationInfo[i].SizeAfterBytes, generationInfo[i].FragmentationAfterBytes, generationInfo[i].SizeBeforeBytes));
        }

        return generations;
    }

    private GcInfo Gc(GCMemoryInfo gcInfo) => new(
        Gen0Collections: GC.CollectionCount(0),
        Gen1Collections: GC.CollectionCount(1),
        Gen2Collections: GC.CollectionCount(2),
        TotalPauseMilliseconds: GC.GetTotalPauseDuration().TotalMilliseconds,
        PauseTimePercentage: gcInfo.PauseTimePercentage,
        IsServerGc: GCSettings.IsServerGC,
        IsConcurrent: _concurrentGc,
        LatencyMode: GCSettings.LatencyMode.ToString(),
        MemoryLoadBytes: gcInfo.MemoryLoadBytes,
        HighMemoryLoadThresholdBytes: gcInfo.HighMemoryLoadThresholdBytes,
        TotalAvailableMemoryBytes: gcInfo.TotalAvailableMemoryBytes,
        HeapHardLimitBytes: _heapHardLimit,
        FinalizationPendingCount: gcInfo.FinalizationPendingCount,
        PinnedObjectsCount: gcInfo.PinnedObjectsCount);

    private static RuntimeCounters Runtime(ProcessMemoryInfo process) => new(
        Threads: process.Threads,
        ThreadPoolThreads: ThreadPool.ThreadCount,
        ThreadPoolQueueLength: ThreadPool.PendingWorkItemCount,
        ActiveTimers: Timer.ActiveCount,
        LockContentions: Monitor.LockContentionCount,
        LoadedAssemblies: AppDomain.CurrentDomain.GetAssemblies().Length,
        AssemblyLoadContexts: AssemblyLoadContext.All.Count(),
        CollectibleAssemblyLoadContexts: AssemblyLoadContext.All.Count(context => context.IsCollectible),
        OpenFileDescriptors: CountOpenFileDescriptors());

    /// <summary>The slope over the monitor's window when it has samples; otherwise (monitor off, or just started) the working set over the uptime.</summary>
    private static MemoryGrowthRate Growth(GrowthTrend window, long workingSet, double uptimeSeconds)
    {
        if (window.Samples >= 2)
        {
            return new MemoryGrowthRate(window.BytesPerSecond, window.MbPerHour, MemoryGrowthSources.Samples);
        }

        var bytesPerSecond = uptimeSeconds > 0 ? workingSet / uptimeSeconds : 0;
        return new MemoryGrowthRate(bytesPerSecond, bytesPerSecond * 3600 / (1024 * 1024), MemoryGrowthSources.RssOverUptime);
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
        var cached = _smapsRollup;
        if (cached is not null && timeProvider.GetElapsedTime(cached.ReadAt, now) < SmapsRollupMaxAge)
        {
            return cached.Text;
        }

        var text = ReadSmapsRollup();
        _smapsRollup = new TimedText(text, now);
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
