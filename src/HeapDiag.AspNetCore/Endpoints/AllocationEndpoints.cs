using System.Globalization;
using HeapDiag.Analysis.Allocations;
using HeapDiag.AspNetCore.Allocations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary><c>POST /allocations?type=&amp;seconds=</c>: which code allocates a type, sampled now in the analyzer process.</summary>
internal static class AllocationEndpoints
{
    private const int DefaultSeconds = 30;
    private const int MaxTypeNameLength = 1024;

    public static void Map(RouteGroupBuilder group) =>
        group.MapPost("/allocations", SampleAsync)
            .WithName("HeapDiagnostics.Allocations")
            .WithSummary("Which code allocates a type: its top call stacks, sampled over EventPipe")
            .WithDescription("The analyzer process opens an EventPipe session on this app (runtime GC events and .NET 10's AllocationSampled) for seconds=1..300 (default 30), names the frames from the rundown, and answers the three distinct call stacks that allocated the most sampled bytes of type= (a full name or its last part), the app's own frames first. One session at a time (409 while one runs); 404 when the type was not allocated in the window (its leak has stopped).");

    public static async Task<Results<JsonOk<AllocationSitesReport>, Problem<AllocationSampling>>> SampleAsync(
        string? type, string? seconds, AllocationSamplingService sampling, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(type) || type.Length > MaxTypeNameLength)
        {
            return Bad("Missing or invalid type", "Name the type whose allocations to sample: type=MyApp.Order (a full name, or its last part such as Order). A suspect's 'holds' names the type it accumulates.");
        }

        var window = DefaultSeconds;
        if (seconds is not null && (!int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out window) || window is < 1 or > AllocationSitesOptions.MaxSeconds))
        {
            return Bad("Invalid seconds", $"seconds='{Problems.Shorten(seconds, 20)}' is not a number of seconds from 1 to {AllocationSitesOptions.MaxSeconds}.");
        }

        var outcome = await sampling.SampleAsync([type.Trim()], window, waitForTurn: false, cancellationToken);
        if (outcome.Report is not { } report)
        {
            return new Problem<AllocationSampling>(ForSampling(outcome.Problem!));
        }

        return report.Types[0] is { Samples: 0 } sites
            ? new Problem<AllocationSampling>(ForSampling(new SamplingProblem(SamplingFailure.NotAllocated, sites.Note!,
                "Nothing to fix in the code now; if memory still grows, sample the type a fresh dump's suspects name (GET /heapdump/{id}/suspects).")))
            : new JsonOk<AllocationSitesReport>(report);
    }

    private static Problem<AllocationSampling> Bad(string title, string detail) => new(Problems.BadRequest(title, detail));

    private static ProblemDetails ForSampling(SamplingProblem failure)
    {
        var (status, title) = failure.Failure switch
        {
            SamplingFailure.Busy => (StatusCodes.Status409Conflict, "Allocations are already being sampled"),
            SamplingFailure.NotAllocated => (StatusCodes.Status404NotFound, "The type was not allocated in the window"),
            SamplingFailure.DiagnosticsDisabled => (StatusCodes.Status503ServiceUnavailable, "Diagnostics are disabled in this process"),
            SamplingFailure.NoDiagnosticPort => (StatusCodes.Status503ServiceUnavailable, "The diagnostic port of this process cannot be reached"),
            SamplingFailure.SessionRefused => (StatusCodes.Status503ServiceUnavailable, "The runtime refused the sampling session"),
            SamplingFailure.AnalyzerUnavailable => (StatusCodes.Status503ServiceUnavailable, "The analyzer cannot sample here"),
            SamplingFailure.Timeout => (StatusCodes.Status504GatewayTimeout, "Sampling took too long"),
            _ => (StatusCodes.Status500InternalServerError, "Allocation sampling failed"),
        };
        var problem = new ProblemDetails { Status = status, Title = title, Detail = $"{failure.Detail} {failure.Fix}" };
        problem.Extensions["failure"] = failure.Failure.ToString();
        problem.Extensions["fix"] = failure.Fix;
        return problem;
    }
}

/// <summary>Allocation sampling: bad input, not allocated, busy, failed, cannot sample here, too slow.</summary>
internal sealed class AllocationSampling : IProblemStatuses
{
    public static IReadOnlyList<int> Statuses { get; } =
    [
        StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status500InternalServerError,
        StatusCodes.Status503ServiceUnavailable, StatusCodes.Status504GatewayTimeout,
    ];
}
