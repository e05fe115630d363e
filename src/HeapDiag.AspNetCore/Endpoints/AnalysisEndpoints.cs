using System.Globalization;
using HeapDiag.Analysis;
using HeapDiag.AspNetCore.Allocations;
using HeapDiag.AspNetCore.Analyzer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>The analysis routes under <c>/heapdump/{id}</c>: thin handlers over the analysis service, which runs the analyzer process.</summary>
internal static class AnalysisEndpoints
{
    private const int DefaultTop = 20;
    private const int MaxTop = 1000;
    private const int MaxTypeNameLength = 1024;

    public static void Map(RouteGroupBuilder dumps)
    {
        dumps.MapGet("/{id}/summary", SummaryAsync)
            .WithName("HeapDiagnostics.Summary")
            .WithSummary("What fills the heap: live objects by type, generations, duplicate strings")
            .WithDescription("Counts only objects reachable from GC roots (a mark pass over the dump). Cached beside the dump. top=1..1000 (default 20).");
        dumps.MapGet("/{id}/diff/{otherId}", DiffAsync)
            .WithName("HeapDiagnostics.Diff")
            .WithSummary("What grew from dump otherId to dump id, by type")
            .WithDescription("Deltas are id minus otherId, sorted by bytes grown; new and vanished types listed apart. top=1..1000 (default 20).");
        dumps.MapGet("/{id}/suspects", SuspectsAsync)
            .WithName("HeapDiagnostics.Suspects")
            .WithSummary("Where the memory accumulates: leak suspects from the dominator tree")
            .WithDescription("Objects (or groups of same-typed objects) retaining at least Analysis:SuspectThresholdPercent of the live heap, the accumulation point inside each (the collection, event or captured variable that holds the memory) with what it holds, the shortest path from a GC root, and a fingerprint that matches the same leak in other dumps. baseline={otherId} adds each suspect's growth since that dump. Runs in the analyzer process within its memory budget; cached beside the dump.");
        dumps.MapGet("/{id}/retainers", RetainersAsync)
            .WithName("HeapDiagnostics.Retainers")
            .WithSummary("Who keeps a type's instances alive: shortest paths from GC roots, grouped")
            .WithDescription("type= a full type name or an unambiguous last part of it (an ambiguous one is answered 400 with the candidates). Static fields are named as roots.");
    }

    public static async Task<Results<JsonOk<HeapSummary>, Problem<DumpAnalysis>>> SummaryAsync(
        RequestedDumpId id, string? top, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        if (!TryParseTop(top, out var count))
        {
            return InvalidTop(top);
        }

        var outcome = await analysis.SummaryAsync(id.Value, cancellationToken);
        if (outcome.Value is not { } summary)
        {
            return Failed(outcome.Problem!);
        }

        // The cached summary keeps every type (a diff needs them); a reply keeps the first `top` of each list.
        return new JsonOk<HeapSummary>(summary with
        {
            Types = [.. summary.Types.Take(count)],
            TopByBytes = [.. summary.Types.OrderByDescending(type => type.Bytes).Take(count)],
            TopByCount = [.. summary.Types.OrderByDescending(type => type.Count).Take(count)],
        });
    }

    public static async Task<Results<JsonOk<HeapDiff>, Problem<DumpAnalysis>>> DiffAsync(
        RequestedDumpId id, RequestedDumpId otherId, string? top, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        if (!TryParseTop(top, out var count))
        {
            return InvalidTop(top);
        }

        var outcome = await analysis.DiffAsync(id.Value, otherId.Value, count, cancellationToken);
        return outcome.Value is { } diff ? new JsonOk<HeapDiff>(diff) : Failed(outcome.Problem!);
    }

    public static async Task<Results<JsonOk<LeakSuspectReport>, Problem<DumpAnalysis>>> SuspectsAsync(
        RequestedDumpId id, RequestedDumpId? baseline, HeapAnalysisService analysis, AllocationSamplingService sampling, CancellationToken cancellationToken)
    {
        var outcome = baseline is { } before
            ? await analysis.SuspectsAsync(id.Value, before.Value, cancellationToken)
            : await analysis.SuspectsAsync(id.Value, cancellationToken);
        return outcome.Value is { } report
            ? new JsonOk<LeakSuspectReport>(report with { Suspects = SuspectAllocationSites.Attach(report.Suspects, sampling.ForDump(id.Value)) })
            : Failed(outcome.Problem!);
    }

    public static async Task<Results<JsonOk<RetentionReport>, Problem<DumpAnalysis>>> RetainersAsync(
        RequestedDumpId id, string? type, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(type) || type.Length > MaxTypeNameLength)
        {
            return new Problem<DumpAnalysis>(Problems.BadRequest("Missing or invalid type",
                "Name the type whose instances to trace: type=MyApp.Order (a full name, or an unambiguous last part such as Order). The summary lists the types."));
        }

        var outcome = await analysis.RetainersAsync(id.Value, type, cancellationToken);
        return outcome.Value is { } report ? new JsonOk<RetentionReport>(report) : Failed(outcome.Problem!);
    }

    private static bool TryParseTop(string? text, out int top)
    {
        top = DefaultTop;
        return text is null || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out top) && top is >= 1 and <= MaxTop);
    }

    private static Problem<DumpAnalysis> InvalidTop(string? top) =>
        new(Problems.BadRequest("Invalid top", $"top='{Problems.Shorten(top ?? string.Empty, 20)}' is not a number from 1 to {MaxTop}."));

    private static Problem<DumpAnalysis> Failed(AnalysisProblem problem) => new(Problems.ForAnalysis(problem));
}
