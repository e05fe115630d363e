using HeapDiag.Analysis;
using HeapDiag.AspNetCore.Analyzer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary><c>GET /heapdump/{id}/runtime</c>: what the runtime held beside the objects, read from the dump by the analyzer process.</summary>
internal static class RuntimeEndpoints
{
    public static void Map(RouteGroupBuilder dumps) =>
        dumps.MapGet("/{id}/runtime", RuntimeAsync)
            .WithName("HeapDiagnostics.Runtime")
            .WithSummary("Runtime facts from the dump: GC handles, finalizer queue, threads, modules and dynamic assemblies, fragmentation")
            .WithDescription("GC handles by kind with the types they hold most; objects registered for and ready for finalization, by type; threads by state; modules with the dynamic ones grouped by generator (Microsoft.GeneratedCode, …); each generation's free space and the pinned objects right after it. One walk over the heap in the analyzer process; cached beside the dump.");

    public static async Task<Results<JsonOk<RuntimeReport>, Problem<DumpAnalysis>>> RuntimeAsync(
        RequestedDumpId id, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        var outcome = await analysis.RuntimeAsync(id.Value, cancellationToken);
        return outcome.Value is { } report ? new JsonOk<RuntimeReport>(report) : new Problem<DumpAnalysis>(Problems.ForAnalysis(outcome.Problem!));
    }
}
