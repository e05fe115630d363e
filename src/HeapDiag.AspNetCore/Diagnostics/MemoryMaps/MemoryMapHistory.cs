namespace HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

/// <summary>
/// The first map of the process (the baseline, normally the monitor's first tick) and the latest, so every map can say
/// what grew since start. The monitor, <c>/memory</c>, <c>/memory/map</c> and the dump diagnostics all read maps here.
/// </summary>
internal sealed class MemoryMapHistory(MemoryMapReader reader, TimeProvider timeProvider)
{
    private readonly Lock _gate = new();
    private MemoryMap? _baseline;
    private MemoryMap? _latest;
    private long _latestAt;

    /// <summary>The first map taken, or null before any.</summary>
    public MemoryMap? Baseline
    {
        get
        {
            lock (_gate)
            {
                return _baseline;
            }
        }
    }

    /// <summary>Reads a map now, with its growth since the baseline (the first map becomes the baseline); null where there is no map.</summary>
    public MemoryMap? Take()
    {
        var map = reader.Read();
        if (map is null)
        {
            return null;
        }

        lock (_gate)
        {
            _baseline ??= map;
            map = map with { GrowthSinceStart = ReferenceEquals(map, _baseline) ? null : Growth(_baseline, map) };
            _latest = map;
            _latestAt = timeProvider.GetTimestamp();
            return map;
        }
    }

    /// <summary>The latest map when it is younger than <paramref name="maxAge"/>, else a new one: a burst of requests reads smaps once.</summary>
    public MemoryMap? Recent(TimeSpan maxAge)
    {
        lock (_gate)
        {
            if (_latest is { } latest && timeProvider.GetElapsedTime(_latestAt) < maxAge)
            {
                return latest;
            }
        }

        return Take();
    }

    /// <summary>What changed from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static MemoryMapGrowth Growth(MemoryMap before, MemoryMap after) => new(
        Since: before.Timestamp,
        ResidentBytes: after.ResidentBytes - before.ResidentBytes,
        Kinds: (after.Totals - before.Totals).ByName(),
        GcHeapFreeBytes: after.GcHeap.FreeBytes - before.GcHeap.FreeBytes,
        ThreadsDelta: after.ThreadStacks.Threads - before.ThreadStacks.Threads,
        ArenasDelta: after.NativeHeap.Arenas - before.NativeHeap.Arenas);
}
