using HeapDiag.AspNetCore.Analyzer;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>Every error of the endpoints as RFC 9457 ProblemDetails, with a detail a person can act on.</summary>
internal static class Problems
{
    private const string IdExample = "20261124T011500123Z-2477-manual-0-heap";

    public static ProblemDetails BadRequest(string title, string detail) => Make(StatusCodes.Status400BadRequest, title, detail);

    public static ProblemDetails UnknownType(string? type) =>
        BadRequest("Unknown dump type", $"'{Shorten(type ?? string.Empty, 80)}' is not a dump type. Use type= one of {HeapDumpTypes.AllowedList} (Capture:DefaultType applies when type is omitted).");

    public static ProblemDetails InvalidId(string id) =>
        BadRequest("Invalid heap dump id", $"'{Shorten(id, 80)}' is not a heap dump id. Ids look like '{IdExample}'; list them with GET /heapdump.");

    public static ProblemDetails InvalidFlag(string name, string? text) =>
        BadRequest($"Invalid {name} flag", $"{name}='{Shorten(text ?? string.Empty, 40)}' is not a flag. Use {name}=true or {name}=false.");

    public static ProblemDetails NotFound(HeapDumpId id) => Make(StatusCodes.Status404NotFound, "Heap dump not found",
        $"There is no heap dump '{id}' here: it may have been deleted by retention (Storage:MaxDumps) or taken by another instance. List them with GET /heapdump.");

    public static ProblemDetails RangeNotSatisfiable(HeapDumpId id) =>
        Make(StatusCodes.Status416RangeNotSatisfiable, "Range not satisfiable", $"The requested range is outside the dump '{id}'.");

    /// <summary>The fleet view reads the shared bucket, and this instance has none.</summary>
    public static ProblemDetails NoBucket()
    {
        var problem = Make(StatusCodes.Status404NotFound, "No bucket to read the fleet from",
            "The fleet view reads every instance's records from the shared bucket, and HeapDiagnostics:Egress:Provider is FileSystem here, so there is none. "
            + "Set HeapDiagnostics:Egress:Provider to S3 (with Egress:S3:Bucket, and ServiceUrl or Region) or to AzureBlob (with Egress:AzureBlob:ContainerName and ConnectionString or ServiceUri) on every instance; see docs/fleet.md.");
        problem.Extensions["failure"] = "NoBucket";
        return problem;
    }

    public static ProblemDetails Upstream(HeapDumpStoreException exception) =>
        Upstream("The bucket could not be reached", $"{exception.Message} {exception.Fix}");

    public static ProblemDetails Upstream(string title, string detail) => Make(StatusCodes.Status502BadGateway, title, detail);

    /// <summary>A failed capture: its status, the cause and the fix, the runtime's own words, and the diagnostics left behind.</summary>
    public static ProblemDetails ForCapture(HeapDumpResult result)
    {
        var (status, title) = result.Failure switch
        {
            HeapDumpFailure.Busy => (StatusCodes.Status409Conflict, "A capture is already running"),
            HeapDumpFailure.RateLimited => (StatusCodes.Status429TooManyRequests, "Too soon after the last capture"),
            HeapDumpFailure.InsufficientStorage => (StatusCodes.Status507InsufficientStorage, "Not enough disk space for a dump"),
            HeapDumpFailure.DirectoryNotWritable => (StatusCodes.Status503ServiceUnavailable, "The dump directory is not writable"),
            HeapDumpFailure.DiagnosticsDisabled => (StatusCodes.Status503ServiceUnavailable, "Diagnostics are disabled in this process"),
            HeapDumpFailure.PtraceDenied => (StatusCodes.Status503ServiceUnavailable, "The dump writer may not attach to this process"),
            HeapDumpFailure.WriterMissing => (StatusCodes.Status503ServiceUnavailable, "The runtime's dump writer is missing"),
            _ => (StatusCodes.Status500InternalServerError, "The dump could not be written"),
        };
        var problem = Make(status, title, $"{result.Error} {result.Fix}");
        problem.Extensions["failure"] = result.Failure?.ToString();
        problem.Extensions["fix"] = result.Fix;
        problem.Extensions["rawError"] = result.RawError;
        problem.Extensions["diagnosticsId"] = result.DiagPath is null ? null : result.Id;
        return problem;
    }

    /// <summary>A failed analysis: what happened, the fix, and the numbers a person needs to act (memory needed, candidates).</summary>
    public static ProblemDetails ForAnalysis(AnalysisProblem failure)
    {
        var (status, title) = failure.Failure switch
        {
            AnalysisFailure.DumpNotFound => (StatusCodes.Status404NotFound, "Heap dump not found"),
            AnalysisFailure.Unreadable => (StatusCodes.Status422UnprocessableEntity, "The dump cannot be analysed"),
            AnalysisFailure.DumpDamaged => (StatusCodes.Status422UnprocessableEntity, "The dump is damaged"),
            AnalysisFailure.TypeNotFound => (StatusCodes.Status404NotFound, "Type not found"),
            AnalysisFailure.TypeAmbiguous => (StatusCodes.Status400BadRequest, "Ambiguous type name"),
            AnalysisFailure.Unavailable => (StatusCodes.Status502BadGateway, "The dump's storage cannot be reached"),
            AnalysisFailure.AnalysisBudget => (StatusCodes.Status503ServiceUnavailable, "Not enough memory to analyse the dump here"),
            AnalysisFailure.AnalysisScratchSpace => (StatusCodes.Status507InsufficientStorage, "Not enough disk space to analyse the dump here"),
            AnalysisFailure.AnalyzerUnavailable => (StatusCodes.Status503ServiceUnavailable, "The analyzer cannot be started here"),
            AnalysisFailure.AnalysisOff => (StatusCodes.Status503ServiceUnavailable, "Analysis is turned off"),
            AnalysisFailure.AnalysisTimeout => (StatusCodes.Status504GatewayTimeout, "The analysis took too long"),
            _ => (StatusCodes.Status500InternalServerError, "The analysis failed"),
        };
        var problem = Make(status, title, failure.Fix is null ? failure.Detail : $"{failure.Detail} {failure.Fix}");
        problem.Extensions["failure"] = failure.Failure.ToString();
        problem.Extensions["fix"] = failure.Fix;
        AddIfPresent(problem, "neededBytes", failure.NeededBytes);
        AddIfPresent(problem, "budgetBytes", failure.BudgetBytes);
        AddIfPresent(problem, "candidates", failure.Candidates is { Count: > 0 } candidates ? candidates : null);
        AddIfPresent(problem, "damage", failure.Damage);
        AddIfPresent(problem, "signal", failure.Signal);
        return problem;
    }

    public static string Shorten(string text, int length) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length), "…");

    private static ProblemDetails Make(int status, string title, string detail) => new() { Status = status, Title = title, Detail = detail };

    private static void AddIfPresent(ProblemDetails problem, string name, object? value)
    {
        if (value is not null)
        {
            problem.Extensions[name] = value;
        }
    }
}
