namespace SampleApi.Leaks;

/// <summary>
/// Demo routes for leaks outside the GC heap (<see cref="OutsideHeapLeaks"/>), beside the four of <see cref="LeakEndpoints"/>;
/// <c>DELETE /leak</c> releases them too.
/// </summary>
internal static class OutsideHeapLeakEndpoints
{
    private const int MaxMegabytes = 4096;
    private const int MaxThreads = 2000;
    private const int MaxAssemblies = 10_000;

    public static void MapOutsideHeapLeakEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/leak").WithTags("Leak demo");

        group.MapPost("/native", (int? mb, LeakStore store) => InRange("mb", mb ?? 10, 1, MaxMegabytes, store.OutsideHeap.Native))
            .WithSummary("Hold about mb megabytes of native memory (malloc), written so it is resident: the GC heap does not grow")
            .Produces<LeakReport>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/threads", (int? count, LeakStore store) => InRange("count", count ?? 10, 1, MaxThreads, store.OutsideHeap.Threads))
            .WithSummary($"Start count threads that never end, each using {OutsideHeapLeaks.ThreadStackBytes / 1024} KiB of its stack")
            .Produces<LeakReport>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/assemblies", (int? count, LeakStore store) => InRange("count", count ?? 10, 1, MaxAssemblies, store.OutsideHeap.Assemblies))
            .WithSummary("Emit count assemblies, each with a long compiled method, never unloaded (as XmlSerializer or Expression.Compile leave them)")
            .Produces<LeakReport>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/pinned", (int? mb, LeakStore store) => InRange("mb", mb ?? 10, 1, MaxMegabytes, store.OutsideHeap.Pinned))
            .WithSummary($"Allocate about mb megabytes of buffers and pin one in {OutsideHeapLeaks.PinnedSpacing}: the GC heap stays that large, mostly free and fragmented")
            .Produces<LeakReport>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
    }

    private static IResult InRange(string name, int value, int min, int max, Func<int, LeakReport> leak) =>
        value >= min && value <= max
            ? Results.Ok(leak(value))
            : Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"{name} out of range", detail: $"{name} is {value}; use a whole number from {min} to {max}.");
}
