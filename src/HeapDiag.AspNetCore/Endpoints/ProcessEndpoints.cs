using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>The routes about the running process: <c>/memory</c> (measured now) and <c>/monitor</c> (the background monitor's state).</summary>
internal static class ProcessEndpoints
{
    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/memory", MemoryAsync)
            .WithName("HeapDiagnostics.Memory")
            .WithSummary("Memory diagnostics with leak indicators")
            .WithDescription("Working set, GC heap and generations, GC counters, runtime resource counts, cgroup limits and leak indicators of this process. Never forces a GC.");
        group.MapGet("/monitor", Monitor)
            .WithName("HeapDiagnostics.Monitor")
            .WithSummary("The background monitor's state")
            .WithDescription("Metric, threshold (and whether it came from bytes or percent of limit), interval, last sample, growth over the window, automatic dumps taken, when the next is allowed and, in lastDecision, why the last sample did or did not become a dump; last error, egress (last upload, last upload error), and memoryMap: the memory map's kinds at start and now, each kind's growth and the kind that grew most. window=true adds the samples, maps=true the monitor's own maps.");
    }

    public static async Task<JsonBytes<MemoryDiagnostics>> MemoryAsync(MemoryDiagnosticsCollector collector) =>
        new(await collector.CollectSharedJsonAsync());

    /// <remarks>
    /// The monitor's maps come with <c>maps=true</c>, not with <c>window=true</c>: the page polls the window every
    /// interval and shows none of them (48 maps would add about 15 KB to each poll).
    /// </remarks>
    public static Results<JsonOk<MonitorStatus>, Problem<BadInput>> Monitor(string? window, string? maps, MemoryMonitor monitor, MemoryMapSampling mapSampling, HeapDumpStore store)
    {
        if (!QueryFlag.TryParse(window, out var includeWindow))
        {
            return new Problem<BadInput>(Problems.InvalidFlag("window", window));
        }

        return QueryFlag.TryParse(maps, out var includeMaps)
            ? new JsonOk<MonitorStatus>(monitor.Status(includeWindow) with { Egress = store.Status(), MemoryMap = mapSampling.Status(includeMaps) })
            : new Problem<BadInput>(Problems.InvalidFlag("maps", maps));
    }
}
