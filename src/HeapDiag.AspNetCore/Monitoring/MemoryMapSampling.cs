using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// The memory map beside the monitor's samples: on the first tick (the baseline every later map's growth is measured
/// from) and then once per window of samples (<see cref="EveryTicks"/> = <see cref="MemoryTrend.Capacity"/>, an hour at
/// the default interval). A map costs tens of milliseconds on a large process (the kernel walks every mapping's page
/// tables), a tick microseconds: one map per window keeps the tick's average cost near its own. Every dump reads a
/// map of its own, and /memory and /memory/map read theirs, so the growth behind a threshold crossing is always
/// measured at the crossing.
/// </summary>
internal sealed class MemoryMapSampling(MemoryMapHistory history)
{
    public const int EveryTicks = MemoryTrend.Capacity;

    private int _ticks;

    public void OnTick()
    {
        if (_ticks++ % EveryTicks == 0)
        {
            history.Take();
        }
    }
}
