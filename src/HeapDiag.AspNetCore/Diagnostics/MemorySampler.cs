namespace HeapDiag.AspNetCore.Diagnostics;

/// <summary>One reading of the three values the monitor can watch, plus the memory limit the GC sees.</summary>
internal readonly record struct MemorySample(
    DateTimeOffset Timestamp,
    long WorkingSetBytes,
    long GcHeapSizeBytes,
    long GcCommittedBytes,
    long TotalAvailableMemoryBytes)
{
    public long Value(MonitorMetric metric) => metric switch
    {
        MonitorMetric.GcHeapSize => GcHeapSizeBytes,
        MonitorMetric.GcCommitted => GcCommittedBytes,
        _ => WorkingSetBytes,
    };
}

/// <summary>Reads memory for the monitor and the health check. A seam so tests can script memory.</summary>
internal interface IMemorySampler
{
    MemorySample Sample();
}

/// <summary>
/// Reads the counters the runtime already keeps: cheap enough to run every second without being seen.
/// GC.GetGCMemoryInfo allocates one small object per call; that is its only allocation.
/// </summary>
internal sealed class RuntimeMemorySampler(TimeProvider timeProvider) : IMemorySampler
{
    public MemorySample Sample()
    {
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        return new MemorySample(timeProvider.GetUtcNow(), Environment.WorkingSet, gc.HeapSizeBytes, gc.TotalCommittedBytes, gc.TotalAvailableMemoryBytes);
    }
}
