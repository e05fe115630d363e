using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Http;
using HeapDiag.AspNetCore.Analyzer;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>Handlers of the analysis routes under <c>/heapdump/{id}</c>: parse, call the analysis service, shape the reply.</summary>
internal static class AnalysisEndpoints
{
    private const int DefaultTop = 20;
    private const int MaxTop = 1000;
    private const int MaxTypeNameLength = 1024;

    public static async Task<IResult> SummaryAsync(string id, string? top, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return HeapDumpEndpoints.Problems.InvalidId(id);
        }

        if (!TryParseTop(top, out var count))
        {
            return InvalidTop(top);
        }

        var outcome = await analysis.SummaryAsync(dumpId, cancellationToken);
        if (outcome.Value is not { } summary)
        {
            return Problem(outcome.Problem!);
        }

        // The cached summary keeps every type (a diff needs them); a reply keeps the first `top` of each list.
        var trimmed = summary with
        {
            Types = [.. summary.Types.Take(count)],
            TopByBytes = [.. summary.Types.OrderByDescending(type => type.Bytes).Take(count)],
            TopByCount = [.. summary.Types.OrderByDescending(type => type.Count).Take(count)],
        };
        return TypedResults.Json(trimmed, HeapDiagnosticsJsonContext.Default.HeapSummary);
    }

    public static async Task<IResult> DiffAsync(string id, string otherId, string? top, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return HeapDumpEndpoints.Problems.InvalidId(id);
        }

        if (!HeapDumpId.TryParse(otherId, out var baselineId))
        {
            return HeapDumpEndpoints.Problems.InvalidId(otherId);
        }

        if (!TryParseTop(top, out var count))
        {
            return InvalidTop(top);
        }

        var outcome = await analysis.DiffAsync(dumpId, baselineId, count, cancellationToken);
        return outcome.Value is { } diff
            ? TypedResults.Json(diff, HeapDiagnosticsJsonContext.Default.HeapDiff)
            : Problem(outcome.Problem!);
    }

    public static async Task<IResult> SuspectsAsync(string id, string? baseline, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return HeapDumpEndpoints.Problems.InvalidId(id);
        }

        HeapDumpId? baselineId = null;
        if (baseline is not null)
        {
            if (!HeapDumpId.TryParse(baseline, out var parsed))
            {
                return HeapDumpEndpoints.Problems.InvalidId(baseline);
            }

            baselineId = parsed;
        }

        var outcome = baselineId is null
            ? await analysis.SuspectsAsync(dumpId, cancellationToken)
            : await analysis.SuspectsAsync(dumpId, baselineId, cancellationToken);
        return outcome.Value is { } report
            ? TypedResults.Json(report, HeapDiagnosticsJsonContext.Default.LeakSuspectReport)
            : Problem(outcome.Problem!);
    }

    public static async Task<IResult> RetainersAsync(string id, string? type, HeapAnalysisService analysis, CancellationToken cancellationToken)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return HeapDumpEndpoints.Problems.InvalidId(id);
        }

        if (string.IsNullOrWhiteSpace(type) || type.Length > MaxTypeNameLength)
        {
            return TypedResults.Problem(
                "Name the type whose instances to trace: type=MyApp.Order (a full name, or an unambiguous last part such as Order). The summary lists the types.",
                statusCode: StatusCodes.Status400BadRequest,
                title: "Missing or invalid type");
        }

        var outcome = await analysis.RetainersAsync(dumpId, type, cancellationToken);
        return outcome.Value is { } report
            ? TypedResults.Json(report, HeapDiagnosticsJsonContext.Default.RetentionReport)
            : Problem(outcome.Problem!);
    }

    private static bool TryParseTop(string? text, out int top)
    {
        top = DefaultTop;
        return text is null || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out top) && top is >= 1 and <= MaxTop);
    }

    private static IResult InvalidTop(string? top) =>
        TypedResults.Problem($"top='{(top is { Length: > 20 } ? top[..20] + "…" : top)}' is not a number from 1 to {MaxTop}.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid top");

    /// <summary>An analysis failure as ProblemDetails: what happened, the fix, and the numbers a person needs to act.</summary>
    private static IResult Problem(AnalysisProblem problem)
    {
        var (status, title) = problem.Failure switch
        {
            AnalysisFailure.DumpNotFound => (StatusCodes.Status404NotFound, "Heap dump not found"),
            AnalysisFailure.Unreadable => (StatusCodes.Status422UnprocessableEntity, "The dump cannot be analysed"),
            AnalysisFailure.TypeNotFound => (StatusCodes.Status404NotFound, "Type not found"),
            AnalysisFailure.TypeAmbiguous => (StatusCodes.Status400BadRequest, "Ambiguous type name"),
            AnalysisFailure.Unavailable => (StatusCodes.Status502BadGateway, "The dump's storage cannot be reached"),
            AnalysisFailure.AnalysisBudget => (StatusCodes.Status503ServiceUnavailable, "Not enough memory to analyse the dump here"),
            AnalysisFailure.AnalyzerUnavailable => (StatusCodes.Status503ServiceUnavailable, "The analyzer cannot be started here"),
            AnalysisFailure.AnalysisOff => (StatusCodes.Status503ServiceUnavailable, "Analysis is turned off"),
            AnalysisFailure.AnalysisTimeout => (StatusCodes.Status504GatewayTimeout, "The analysis took too long"),
            _ => (StatusCodes.Status500InternalServerError, "The analysis failed"),
        };
        var extensions = new Dictionary<string, object?>
        {
            ["failure"] = problem.Failure.ToString(),
            ["fix"] = problem.Fix,
        };
        if (problem.NeededBytes is { } needed)
        {
            extensions["neededBytes"] = needed;
        }

        if (problem.BudgetBytes is { } budget)
        {
            extensions["budgetBytes"] = budget;
        }

        if (problem.Candidates is { Count: > 0 } candidates)
        {
            extensions["candidates"] = candidates;
        }

        return TypedResults.Problem(problem.Fix is null ? problem.Detail : $"{problem.Detail} {problem.Fix}", statusCode: status, title: title, extensions: extensions);
    }
}
