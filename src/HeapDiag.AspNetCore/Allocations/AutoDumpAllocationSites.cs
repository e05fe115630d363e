using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Allocations;

/// <summary>
/// After an automatic leak report, while the leak is still growing: samples the allocations of what the top suspects
/// accumulate for <c>Analysis:AllocationSites:Duration</c>, gives each suspect its sites, keeps them beside the dump,
/// and ends the report's headline with the code that adds to the leak.
/// </summary>
internal sealed partial class AutoDumpAllocationSites(AllocationSamplingService sampling, IOptions<HeapAnalysisOptions> options, ILogger<AutoDumpAllocationSites> logger)
{
    /// <summary>The suspects whose element types are sampled: those the report shows.</summary>
    private const int SampledSuspects = 3;

    /// <summary>The report with the sites; the report unchanged when sampling is off, has nothing to sample or fails (logged). Throws only when cancelled.</summary>
    public async Task<AutoDumpLeakReport> AddAsync(HeapDumpId id, AutoDumpLeakReport report, CancellationToken cancellationToken)
    {
        var duration = options.Value.AllocationSites.Duration;
        var types = SuspectAllocationSites.ElementTypes(report.Suspects, SampledSuspects);
        if (duration <= TimeSpan.Zero || types.Count == 0)
        {
            return report;
        }

        var seconds = (int)Math.Clamp(Math.Ceiling(duration.TotalSeconds), 1, AllocationSitesOptions.MaxSeconds);
        SamplingOutcome outcome;
        try
        {
            outcome = await sampling.SampleAsync(types, seconds, waitForTurn: true, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            outcome = SamplingOutcome.Failed(SamplingFailure.Failed, ex.Message, "Look for the sampler's lines (event 4601) in the app's log.");
        }

        if (outcome.Report is not { } sites)
        {
            LogSamplingFailed(logger, id.ToString(), outcome.Problem!.Failure.ToString(), $"{outcome.Problem.Detail} {outcome.Problem.Fix}");
            return report;
        }

        sampling.KeepForDump(id, sites);
        var suspects = SuspectAllocationSites.Attach(report.Suspects, sites);
        var clause = SuspectAllocationSites.Clause(suspects, seconds);
        return report with { Suspects = suspects, Headline = clause is null ? report.Headline : $"{report.Headline}; {clause}" };
    }

    [LoggerMessage(EventId = 4605, Level = LogLevel.Warning, Message = "No allocation sites for automatic dump {DumpId} ({Failure}): {Detail}")]
    private static partial void LogSamplingFailed(ILogger logger, string dumpId, string failure, string detail);
}
