using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>Handlers of the <c>/heapdump</c> routes: parse, call the capture service or the store, shape the reply.</summary>
internal static class HeapDumpEndpoints
{
    private const string DumpContentType = "application/octet-stream";
    private const string IdExample = "20261124T011500123Z-2477-manual-0-heap";

    public static async Task<IResult> CaptureAsync(
        HttpContext http, string? type, string? download, IHeapDumpCapture captures, IOptions<HeapDiagnosticsOptions> options)
    {
        if (!HeapDumpTypes.TryParse(type ?? options.Value.Capture.DefaultType, out var dumpType))
        {
            return Problems.UnknownType(type);
        }

        if (!QueryFlag.TryParse(download, out var streamIt))
        {
            return QueryFlag.Invalid("download", download);
        }

        var result = await captures.CaptureAsync(new HeapDumpRequest(DiagnosticsTriggers.Manual, 0, dumpType), http.RequestAborted);
        if (!result.Success)
        {
            return Problems.ForFailure(result);
        }

        var location = $"{CollectionUrl(http)}/{result.Id}";
        if (streamIt)
        {
            http.Response.Headers.Location = location;
            return TypedResults.PhysicalFile(result.HeapPath!, DumpContentType, FileName(result.Id!), enableRangeProcessing: false);
        }

        http.Response.Headers.Location = location;
        return TypedResults.Json(result, HeapDiagnosticsJsonContext.Default.HeapDumpResult, statusCode: StatusCodes.Status201Created);
    }

    public static IResult List(HttpContext http, HeapDumpStore store)
    {
        var collection = CollectionUrl(http);
        var dumps = store.List().Select(dump => new HeapDumpListItem(
            dump.Id.ToString(),
            dump.Id.CreatedUtc,
            dump.Id.Trigger,
            dump.Id.DumpNumber,
            dump.Id.Type,
            dump.SizeBytes,
            new HeapDumpLinks($"{collection}/{dump.Id}", dump.DiagnosticsPath is null ? null : $"{collection}/{dump.Id}/diagnostics")));
        return TypedResults.Json(new HeapDumpList(store.DirectoryPath, [.. dumps]), HeapDiagnosticsJsonContext.Default.HeapDumpList);
    }

    public static IResult Capabilities(string? type, CaptureCapabilities capabilities, IOptions<HeapDiagnosticsOptions> options)
    {
        if (!HeapDumpTypes.TryParse(type ?? options.Value.Capture.DefaultType, out var dumpType))
        {
            return Problems.UnknownType(type);
        }

        return TypedResults.Json(capabilities.Probe(dumpType), HeapDiagnosticsJsonContext.Default.HeapDumpCapabilities);
    }

    public static IResult Download(string id, HeapDumpStore store)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return Problems.InvalidId(id);
        }

        return store.Find(dumpId) is { } dump
            ? TypedResults.PhysicalFile(dump.DumpPath, DumpContentType, FileName(dump.Id.ToString()), lastModified: dump.Id.CreatedUtc, enableRangeProcessing: true)
            : Problems.NotFound(dumpId);
    }

    public static IResult Diagnostics(string id, HeapDumpStore store)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return Problems.InvalidId(id);
        }

        // Diagnostics of a failed capture exist without a dump: they are what is left to look at.
        var path = store.DiagnosticsPath(dumpId);
        return File.Exists(path) ? TypedResults.PhysicalFile(path, "application/json") : Problems.NotFound(dumpId);
    }

    public static IResult Delete(string id, HeapDumpStore store)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return Problems.InvalidId(id);
        }

        return store.Delete(dumpId) ? TypedResults.NoContent() : Problems.NotFound(dumpId);
    }

    private static string CollectionUrl(HttpContext http) => (http.Request.PathBase + http.Request.Path).Value!.TrimEnd('/') switch
    {
        var path when path.EndsWith("/heapdump", StringComparison.Ordinal) => path,
        var path => path[..(path.LastIndexOf("/heapdump/", StringComparison.Ordinal) + "/heapdump".Length)],
    };

    private static string FileName(string id) => $"heapdump-{id}.dmp";

    /// <summary>Every error as RFC 9457 ProblemDetails, with a detail a person can act on.</summary>
    private static class Problems
    {
        public static IResult BadRequest(string title, string detail) =>
            TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: title);

        public static IResult UnknownType(string? type) =>
            BadRequest("Unknown dump type", $"'{Shorten(type ?? string.Empty)}' is not a dump type. Use type= one of {HeapDumpTypes.AllowedList} (Capture:DefaultType applies when type is omitted).");

        public static IResult InvalidId(string id) =>
            TypedResults.Problem(
                $"'{Shorten(id)}' is not a heap dump id. Ids look like '{IdExample}'; list them with GET /heapdump.",
                statusCode: StatusCodes.Status400BadRequest,
                title: "Invalid heap dump id");

        public static IResult NotFound(HeapDumpId id) =>
            TypedResults.Problem(
                $"There is no heap dump '{id}' here: it may have been deleted by retention (Storage:MaxDumps) or taken by another instance. List them with GET /heapdump.",
                statusCode: StatusCodes.Status404NotFound,
                title: "Heap dump not found");

        public static IResult ForFailure(HeapDumpResult result)
        {
            var status = result.Failure switch
            {
                HeapDumpFailure.Busy => StatusCodes.Status409Conflict,
                HeapDumpFailure.RateLimited => StatusCodes.Status429TooManyRequests,
                HeapDumpFailure.InsufficientStorage => StatusCodes.Status507InsufficientStorage,
                HeapDumpFailure.WriterFailed => StatusCodes.Status500InternalServerError,
                _ => StatusCodes.Status503ServiceUnavailable,
            };
            var extensions = new Dictionary<string, object?>
            {
                ["failure"] = result.Failure?.ToString(),
                ["fix"] = result.Fix,
                ["rawError"] = result.RawError,
                ["diagnosticsId"] = result.DiagPath is null ? null : result.Id,
            };
            return new ProblemWithHeaders(
                TypedResults.Problem($"{result.Error} {result.Fix}", statusCode: status, title: Title(result.Failure), extensions: extensions),
                result.RetryAfterSeconds);
        }

        private static string Title(HeapDumpFailure? failure) => failure switch
        {
            HeapDumpFailure.Busy => "A capture is already running",
            HeapDumpFailure.RateLimited => "Too soon after the last capture",
            HeapDumpFailure.InsufficientStorage => "Not enough disk space for a dump",
            HeapDumpFailure.DirectoryNotWritable => "The dump directory is not writable",
            HeapDumpFailure.DiagnosticsDisabled => "Diagnostics are disabled in this process",
            HeapDumpFailure.PtraceDenied => "The dump writer may not attach to this process",
            HeapDumpFailure.WriterMissing => "The runtime's dump writer is missing",
            _ => "The dump could not be written",
        };

        private static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 80), "…");
    }

    /// <summary>A problem response that also sets Retry-After, which ProblemHttpResult cannot.</summary>
    private sealed class ProblemWithHeaders(ProblemHttpResult problem, double? retryAfterSeconds) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => problem.StatusCode;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (retryAfterSeconds is { } seconds)
            {
                httpContext.Response.Headers[HeaderNames.RetryAfter] = ((long)Math.Ceiling(seconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return problem.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>The answer of <c>GET /heapdump</c>.</summary>
internal sealed record HeapDumpList(string Directory, IReadOnlyList<HeapDumpListItem> Dumps);

/// <summary>One dump in the list.</summary>
internal sealed record HeapDumpListItem(string Id, DateTimeOffset Created, string Trigger, int DumpNumber, string Type, long SizeBytes, HeapDumpLinks Links);

/// <summary>Where to fetch a dump and its diagnostics.</summary>
internal sealed record HeapDumpLinks(string Download, string? Diagnostics);
