using HeapDiag.AspNetCore.Ui;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// The route table. Handlers stay thin: parse the request, call a service, shape the reply; their signatures are the
/// OpenAPI description of what they answer. Every data route sits in one group that requires the diagnostics policy,
/// so no route can be added without it; beside it, only the page's shell and files (<see cref="UiEndpoints"/>) are
/// anonymous, and they hold no data.
/// </summary>
internal static class HeapDiagnosticsEndpoints
{
    public const string Tag = "HeapDiagnostics";

    /// <summary>Maps every HeapDiag route under the prefix; the returned group holds them all, the page included.</summary>
    public static RouteGroupBuilder Map(IEndpointRouteBuilder routes, HeapDiagnosticsOptions options)
    {
        var root = routes.MapGroup(options.RoutePrefix);
        if (options.Ui.Enabled)
        {
            UiEndpoints.Map(root);
        }

        var group = root.MapGroup(string.Empty)
            .RequireAuthorization(options.Policy)
            .WithTags(Tag)
            .AddEndpointFilter<AuditEndpointFilter>()
            .AddEndpointFilter(NoStore)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        ProcessEndpoints.Map(group);
        MemoryMapEndpoints.Map(group);
        AllocationEndpoints.Map(group);
        FleetEndpoints.Map(group);

        var dumps = group.MapGroup("/heapdump").AddEndpointFilter(RequestedDumpId.Filter);
        HeapDumpEndpoints.Map(dumps);
        AnalysisEndpoints.Map(dumps);
        RuntimeEndpoints.Map(dumps);
        return root;
    }

    /// <summary>
    /// Every answer describes one moment of this process and may hold its secrets (paths, type names, string values):
    /// no browser or proxy may keep a copy, the page's own requests included.
    /// </summary>
    private static ValueTask<object?> NoStore(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        context.HttpContext.Response.Headers.CacheControl = "no-store";
        return next(context);
    }
}
