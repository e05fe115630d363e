// Times one monitor tick in steady state (no threshold crossed, no log written): the real sampler, the real
// window and trend, the real policy. Prints one JSON line: nanoseconds and bytes allocated per tick. With --map, each
// tick also runs the monitor loop's memory map sampling (a map of /proc/self/smaps every 360th tick), as the service does.
// With ROUNDS --map-cost, where one memory map's time goes instead (MapCost).
using System.Diagnostics;
using HeapDiag.AspNetCore;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;
using HeapDiag.AspNetCore.Monitoring;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

if (args.Contains("--map-cost"))
{
    Console.WriteLine(MapCost.Measure(args.Length > 1 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200));
    return;
}

var ticks = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
MemoryMapSampling? maps = args.Contains("--map") ? new(new MemoryMapHistory(new MemoryMapReader(TimeProvider.System), TimeProvider.System)) : null;
var options = new MemoryMonitorOptions { ThresholdBytes = long.MaxValue };
using var sampler = new RuntimeMemorySampler(TimeProvider.System);
var monitor = new MemoryMonitor(
    sampler, new MemoryTrend(), new AutoDumpAction(new NeverCapture(), new NeverReport()), TimeProvider.System, Options.Create(options), NullLogger<MemoryMonitor>.Instance);

// Fill the 360-sample window first: the slope over a full window is the steady-state cost. With --map, the warm-up
// takes maps too (the first compiles the reader's code, tens of milliseconds once per process, not per map), and
// 2,160 ticks is six whole map periods, so the measured ticks start where a period starts.
for (var i = 0; i < 2_160; i++)
{
    maps?.OnTick();
    await monitor.TickAsync(CancellationToken.None);
}

var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
var started = Stopwatch.GetTimestamp();
for (var i = 0; i < ticks; i++)
{
    maps?.OnTick();
    var tick = monitor.TickAsync(CancellationToken.None);
    if (!tick.IsCompletedSuccessfully)
    {
        await tick;
    }
}

var elapsed = Stopwatch.GetElapsedTime(started);
var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
Console.WriteLine(FormattableString.Invariant($"{{\"ticks\":{ticks},\"nsPerTick\":{elapsed.TotalNanoseconds / ticks:F0},\"bytesPerTick\":{(double)allocated / ticks:F1}}}"));

internal sealed class NeverCapture : IHeapDumpCapture
{
    public Task<HeapDumpResult> CaptureAsync(HeapDumpRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException("The benchmark never crosses the threshold.");
}

internal sealed class NeverReport : IAutoDumpReporter
{
    public Task<AutoDumpLeakReport?> ReportAsync(string dumpId, string? previousDumpId, CancellationToken cancellationToken) => Task.FromResult<AutoDumpLeakReport?>(null);
}
