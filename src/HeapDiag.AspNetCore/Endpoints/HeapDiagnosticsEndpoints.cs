using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Monitoring;
using HeapDiag.AspNetCore.Storage;
using HeapDiag.AspNetCore.Ui;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// The route table. Handlers stay thin: parse the request, call a service, shape the reply.
/// Every data route sits in one group that requires the diagnostics policy, so no route can be added without it;
/// beside it, only the page's shell and files (<see cref="UiEndpoints"/>) are anonymous, and they hold no data.
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

        group.MapGet("/memory", async (MemoryDiagnosticsCollector collector) =>
                TypedResults.Bytes(await collector.CollectSharedJsonAsync(), "application/json"))
            .WithName("HeapDiagnostics.Memory")
            .WithSummary("Memory diagnostics with leak indicators")
            .WithDescription("Working set, GC heap and generations, GC counters, runtime resource counts, cgroup limits and leak indicators of this process. Never forces a GC.")
            .Produces<MemoryDiagnostics>(StatusCodes.Status200OK, "application/json");

        group.MapGet("/monitor", (string? window, MemoryMonitor monitor, HeapDumpStore store) =>
                QueryFlag.TryParse(window, out var includeWindow)
                    ? TypedResults.Json(monitor.Status(includeWindow) with { Egress = store.Status() }, HeapDiagnosticsJsonContext.Default.MonitorStatus)
                    : QueryFlag.Invalid("window", window))
            .WithName("HeapDiagnostics.Monitor")
            .WithSummary("The background monitor's state")
            .WithDescription("Metric, threshold (and whether it came from bytes or percent of limit), interval, last sample, growth over the window, automatic dumps taken, when the next is allowed, last error, and egress (last upload, last upload error). window=true adds the samples.")
            .Produces<MonitorStatus>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        var dumps = group.MapGroup("/heapdump");
        dumps.MapPost("/", HeapDumpEndpoints.CaptureAsync)
            .WithName("HeapDiagnostics.Capture")
            .WithSummary("Capture a heap dump")
            .WithDescription("Writes a dump with the runtime's own out-of-process writer, after writing the memory diagnostics beside it. type=heap|full|mini|triage (default Capture:DefaultType). download=true streams the new dump in the same response.")
            .Produces<HeapDumpResult>(StatusCodes.Status201Created, "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage);
        dumps.MapGet("/", HeapDumpEndpoints.List)
            .WithName("HeapDiagnostics.List")
            .WithSummary("List the heap dumps, local and in the bucket, newest first")
            .WithDescription("With Egress:Provider=S3 the local dumps and those in the bucket (every instance of this app) are merged; location says where each one is: local, s3 or both.")
            .Produces<HeapDumpList>(StatusCodes.Status200OK, "application/json");
        dumps.MapGet("/capabilities", HeapDumpEndpoints.Capabilities)
            .WithName("HeapDiagnostics.Capabilities")
            .WithSummary("Can a dump be taken here, and if not, why")
            .Produces<HeapDumpCapabilities>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        dumps.MapGet("/{id}", HeapDumpEndpoints.Download)
            .WithName("HeapDiagnostics.Download")
            .WithSummary("Download a heap dump (streamed, Range supported; zstd with Accept-Encoding: zstd)")
            .WithDescription("From the local disk, or streamed from the bucket when the dump is held only there (307 to a presigned URL with Egress:S3:PresignedDownloads). Accept-Encoding: zstd answers Content-Encoding: zstd, without Range. X-HeapDiag-Sha256 carries the SHA-256 of the dump.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status206PartialContent, contentType: "application/octet-stream")
            .Produces(StatusCodes.Status307TemporaryRedirect)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status502BadGateway);
        dumps.MapGet("/{id}/diagnostics", HeapDumpEndpoints.Diagnostics)
            .WithName("HeapDiagnostics.DumpDiagnostics")
            .WithSummary("The memory diagnostics written just before that dump")
            .Produces<MemoryDiagnostics>(StatusCodes.Status200OK, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status502BadGateway);
        dumps.MapDelete("/{id}", HeapDumpEndpoints.Delete)
            .WithName("HeapDiagnostics.Delete")
            .WithSummary("Delete a heap dump and its diagnostics, locally and in the bucket")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status502BadGateway);

        AnalysisProblems(dumps.MapGet("/{id}/summary", AnalysisEndpoints.SummaryAsync)
            .WithName("HeapDiagnostics.Summary")
            .WithSummary("What fills the heap: live objects by type, generations, duplicate strings")
            .WithDescription("Counts only objects reachable from GC roots (a mark pass over the dump). Cached beside the dump. top=1..1000 (default 20).")
            .Produces<HeapDiag.Analysis.HeapSummary>(StatusCodes.Status200OK, "application/json"));
        AnalysisProblems(dumps.MapGet("/{id}/diff/{otherId}", AnalysisEndpoints.DiffAsync)
            .WithName("HeapDiagnostics.Diff")
            .WithSummary("What grew from dump otherId to dump id, by type")
            .WithDescription("Deltas are id minus otherId, sorted by bytes grown; new and vanished types listed apart. top=1..1000 (default 20).")
            .Produces<HeapDiag.Analysis.HeapDiff>(StatusCodes.Status200OK, "application/json"));
        AnalysisProblems(dumps.MapGet("/{id}/suspects", AnalysisEndpoints.SuspectsAsync)
            .WithName("HeapDiagnostics.Suspects")
            .WithSummary("Where the memory accumulates: leak suspects from the dominator tree")
            .WithDescription("Objects (or groups of same-typed objects) retaining at least Analysis:SuspectThresholdPercent of the live heap, the accumulation point inside each (the collection, event or captured variable that holds the memory) with what it holds, the shortest path from a GC root, and a fingerprint that matches the same leak in other dumps. baseline={otherId} adds each suspect's growth since that dump. Runs in the analyzer process within its memory budget; cached beside the dump.")
            .Produces<HeapDiag.Analysis.LeakSuspectReport>(StatusCodes.Status200OK, "application/json"));
        AnalysisProblems(dumps.MapGet("/{id}/retainers", AnalysisEndpoints.RetainersAsync)
            .WithName("HeapDiagnostics.Retainers")
            .WithSummary("Who keeps a type's instances alive: shortest paths from GC roots, grouped")
            .WithDescription("type= a full type name or an unambiguous last part of it. Static fields are named as roots.")
            .Produces<HeapDiag.Analysis.RetentionReport>(StatusCodes.Status200OK, "application/json"));

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

    /// <summary>
    /// The problems every analysis route can answer: bad input, no such dump, unreadable file, analyzer failed, bucket
    /// down, budget too small or analysis off, too slow.
    /// </summary>
    private static RouteHandlerBuilder AnalysisProblems(RouteHandlerBuilder route) => route
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
        .ProducesProblem(StatusCodes.Status500InternalServerError)
        .ProducesProblem(StatusCodes.Status502BadGateway)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
        .ProducesProblem(StatusCodes.Status504GatewayTimeout);
}
