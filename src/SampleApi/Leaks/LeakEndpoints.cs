namespace SampleApi.Leaks;

/// <summary>Demo routes that leak memory on purpose, to watch HeapDiag find it.</summary>
internal static class LeakEndpoints
{
    private const int MaxMegabytes = 4096;

    public static void MapLeakEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/leak").WithTags("Leak demo");

        group.MapPost("/{pattern}", (string pattern, int? mb, LeakStore store) =>
            {
                if (!Enum.TryParse<LeakPattern>(pattern, ignoreCase: true, out var leakPattern) || !Enum.IsDefined(leakPattern) || int.TryParse(pattern, out _))
                {
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Unknown leak pattern",
                        detail: $"'{pattern}' is not a leak pattern. Use one of: cache, events, timers, closures.");
                }

                var megabytes = mb ?? 10;
                if (megabytes is < 1 or > MaxMegabytes)
                {
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "mb out of range",
                        detail: $"mb is {megabytes}; use a whole number from 1 to {MaxMegabytes}.");
                }

                return Results.Ok(store.Leak(leakPattern, megabytes));
            })
            .WithSummary("Leak about mb megabytes with one of four common leak patterns: cache, events, timers, closures")
            .Produces<LeakReport>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapDelete("/", (LeakStore store) => Results.Ok(store.Release()))
            .WithSummary("Release everything the leak routes hold")
            .Produces<LeakReport>();
    }
}
