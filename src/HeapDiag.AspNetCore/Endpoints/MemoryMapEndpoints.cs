using HeapDiag.AspNetCore.Diagnostics.MemoryMaps;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary><c>GET /memory/map</c>: the process's resident memory by kind, read now.</summary>
internal static class MemoryMapEndpoints
{
    public static void Map(RouteGroupBuilder group) =>
        group.MapGet("/memory/map", Read)
            .WithName("HeapDiagnostics.MemoryMap")
            .WithSummary("Resident memory by kind: GC heap, thread stacks, code, loaded files, native heap, other")
            .WithDescription("Each mapping of /proc/self/smaps classified, joined with the GC's own figures; the kinds add up to the resident set. growthSinceStart says what grew since the first map (the monitor's first tick). Linux only.");

    public static Results<JsonOk<MemoryMap>, Problem<MapUnavailable>> Read(MemoryMapHistory history) =>
        history.Take() is { } map
            ? new JsonOk<MemoryMap>(map)
            : new Problem<MapUnavailable>(new ProblemDetails
            {
                Status = StatusCodes.Status501NotImplemented,
                Title = "No memory map on this platform",
                Detail = $"The memory map is read from {MemoryMapReader.SmapsFile}, which this process cannot read (it exists on Linux only). GET /memory still answers with the working set and the GC's figures.",
            });
}

/// <summary>The memory map cannot be read here.</summary>
internal sealed class MapUnavailable : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } = [StatusCodes.Status501NotImplemented];
}
