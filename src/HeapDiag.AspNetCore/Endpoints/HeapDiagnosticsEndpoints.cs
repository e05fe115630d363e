using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// The route table. Handlers stay thin: parse the request, call a service, shape the reply.
/// Every route sits in one group that requires the diagnostics policy, so no route can be added without it.
/// </summary>
internal static class HeapDiagnosticsEndpoints
{
    public const string Tag = "HeapDiagnostics";

    public static RouteGroupBuilder Map(IEndpointRouteBuilder routes, HeapDiagnosticsOptions options)
    {
        var group = routes.MapGroup(options.RoutePrefix)
            .RequireAuthorization(options.Policy)
            .WithTags(Tag)
            .AddEndpointFilter<AuditEndpointFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        group.MapGet("/memory", (MemoryDiagnosticsCollector collector) =>
                TypedResults.Json(collector.Collect(DiagnosticsTriggers.Request, dumpNumber: 0), HeapDiagnosticsJsonContext.Default.MemoryDiagnostics))
            .WithName("HeapDiagnostics.Memory")
            .WithSummary("Memory diagnostics with leak indicators")
            .WithDescription("Working set, GC heap and generations, GC counters, runtime resource counts, cgroup limits and leak indicators of this process. Never forces a GC.")
            .Produces<MemoryDiagnostics>(StatusCodes.Status200OK, "application/json");

        return group;
    }
}

/// <summary>The values of <see cref="MemoryDiagnostics.Trigger"/>.</summary>
internal static class DiagnosticsTriggers
{
    /// <summary>Diagnostics read through <c>GET /memory</c>.</summary>
    public const string Request = "request";

    /// <summary>A dump asked for by a person.</summary>
    public const string Manual = "manual";

    /// <summary>A dump taken by the monitor past its threshold.</summary>
    public const string Auto = "auto";
}
