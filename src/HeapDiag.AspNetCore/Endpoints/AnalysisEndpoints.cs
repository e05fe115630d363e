using HeapDiag.AspNetCore.Analysis;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Http;

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
            return Failure(outcome.Failure!.Value, outcome.Error!);
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
            : Failure(outcome.Failure!.Value, outcome.Error!);
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
            : Failure(outcome.Failure!.Value, outcome.Error!);
    }

    private static bool TryParseTop(string? text, out int top)
    {
        top = DefaultTop;
        return text is null || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out top) && top is >= 1 and <= MaxTop);
    }

    private static IResult InvalidTop(string? top) =>
        TypedResults.Problem($"top='{(top is { Length: > 20 } ? top[..20] + "…" : top)}' is not a number from 1 to {MaxTop}.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid top");

    private static IResult Failure(AnalysisFailure failure, string error) => failure switch
    {
        AnalysisFailure.DumpNotFound => TypedResults.Problem(error, statusCode: StatusCodes.Status404NotFound, title: "Heap dump not found"),
        AnalysisFailure.Unreadable => TypedResults.Problem(
            $"{error} The file cannot be analysed; delete it with DELETE /heapdump/{{id}} and capture a new one.",
            statusCode: StatusCodes.Status422UnprocessableEntity,
            title: "The dump cannot be analysed"),
        AnalysisFailure.Unavailable => TypedResults.Problem(error, statusCode: StatusCodes.Status502BadGateway, title: "The dump's storage cannot be reached"),
        _ => TypedResults.Problem(error, statusCode: StatusCodes.Status404NotFound, title: "Type not found"),
    };
}
