using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;

namespace HeapDiag.AspNetCore.Monitoring;

/// <summary>
/// The memory map beside the monitor's samples: on the first tick (the baseline every later map's growth is measured
/// from) and then every <see cref="EveryTicks"/>th. A map costs milliseconds, a tick microseconds; one in
/// <see cref="EveryTicks"/> keeps the tick's average cost near its own. Every dump reads a map of its own, so the growth
/// behind a threshold crossing is always measured at the crossing.
/// </summary>
internal sealed class MemoryMapSampling(MemoryMapHistory history)
{
    public const int EveryTicks = 60;

    private int _ticks;

    public void OnTick()
    {
        if (_ticks++ % EveryTicks == 0)
        {
            history.Take();
        }
    }
}
