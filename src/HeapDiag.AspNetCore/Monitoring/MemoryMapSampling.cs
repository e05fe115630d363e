using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// The memory map beside the monitor's samples: on the first tick (the baseline every later map's growth is measured
/// from) and then once every <see cref="EveryTicks"/> ticks, its kinds kept in a ring of <see cref="Capacity"/> points
/// so the monitor knows which kind grows. A map costs milliseconds (the kernel walks every mapping's page tables),
/// a tick microseconds: one map in <see cref="EveryTicks"/> keeps the tick's average cost near its own. The answer of
/// <c>GET /monitor</c> reads a map of its own (shared with any read in the last second), every dump reads one too, so
/// the kinds "now" and the growth behind a threshold crossing are always measured then, not up to
/// <see cref="EveryTicks"/> ticks before.
/// </summary>
internal sealed class MemoryMapSampling(MemoryMapHistory history)
{
    public const int EveryTicks = MemoryTrend.Capacity;

    /// <summary>The monitor's maps kept: two days at the default interval and <see cref="EveryTicks"/>.</summary>
    public const int Capacity = 48;

    private static readonly TimeSpan NowMaxAge = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly (DateTimeOffset At, MemoryKindTotals Kinds)[] _points = new (DateTimeOffset, MemoryKindTotals)[Capacity];
    private int _next;
    private int _count;
    private int _ticks;

    public void OnTick()
    {
        if (_ticks++ % EveryTicks == 0 && history.Take() is { } map)
        {
            lock (_gate)
            {
                _points[_next] = (map.Timestamp, map.Totals);
                _next = (_next + 1) % Capacity;
                _count = Math.Min(_count + 1, Capacity);
            }
        }
    }

    /// <summary>
    /// The kinds at start and now, what grew, and the kind that grew most; null where there is no map (not Linux).
    /// </summary>
    /// <param name="includeSamples">Adds the monitor's own maps (oldest first).</param>
    public MonitorMemoryMap? Status(bool includeSamples)
    {
        if (history.Recent(NowMaxAge) is not { } now || history.Baseline is not { } start)
        {
            return null;
        }

        var growth = now.GrowthSinceStart ?? MemoryMapHistory.Growth(start, now);
        var growing = growth.Kinds[0] is { Bytes: > 0 } top ? top.Kind : null;
        return new MonitorMemoryMap(
            Start: Point(start.Timestamp, start.Totals),
            Now: Point(now.Timestamp, now.Totals),
            Growth: growth,
            GrowingKind: growing,
            OutsideHeap: GrowthVerdict.Of(now),
            EveryTicks: EveryTicks,
            Samples: includeSamples ? Samples() : null);
    }

    private List<MemoryMapPoint> Samples()
    {
        lock (_gate)
        {
            var samples = new List<MemoryMapPoint>(_count);
            var first = (_next - _count + Capacity) % Capacity;
            for (var i = 0; i < _count; i++)
            {
                var (at, kinds) = _points[(first + i) % Capacity];
                samples.Add(Point(at, kinds));
            }

            return samples;
        }
    }

    private static MemoryMapPoint Point(DateTimeOffset at, MemoryKindTotals kinds) => new(at, kinds.Sum, kinds.ByName());
}

/// <summary>
/// The memory map in <c>GET /monitor</c>: the kinds when the monitor started (the process's first map) and now, the
/// growth of each, and the kind that grew most — what the page's bar shows as "grew since the monitor started".
/// </summary>
/// <param name="Start">The first map's kinds (normally the monitor's first tick).</param>
/// <param name="Now">The kinds read for this answer.</param>
/// <param name="Growth">Each kind's change from <paramref name="Start"/> to <paramref name="Now"/>, largest growth first.</param>
/// <param name="GrowingKind">The kind that grew most (<see cref="MemoryKinds"/>); null when none grew.</param>
/// <param name="OutsideHeap">When the growth is mostly outside the GC heap's objects: the verdict the leak report leads with.</param>
/// <param name="EveryTicks">The monitor reads a map every this many ticks.</param>
/// <param name="Samples">With <c>maps=true</c>: the monitor's own maps, oldest first.</param>
internal sealed record MonitorMemoryMap(
    MemoryMapPoint Start,
    MemoryMapPoint Now,
    MemoryMapGrowth Growth,
    string? GrowingKind,
    GrowthVerdict? OutsideHeap,
    int EveryTicks,
    IReadOnlyList<MemoryMapPoint>? Samples);

/// <summary>One map's kinds: when, the resident set, and each kind's resident bytes (largest first).</summary>
internal sealed record MemoryMapPoint(DateTimeOffset Timestamp, long ResidentBytes, IReadOnlyList<MemoryKindBytes> Kinds);
