using HeapDiag.AspNetCore.Analyzer;
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
    private const string IdExample = "20261124T011500123Z-2477-manual-0-heap";

    public static async Task<IResult> CaptureAsync(
        HttpContext http, string? type, string? download, IHeapDumpCapture captures, HeapDumpStore store, IOptions<HeapDiagnosticsOptions> options)
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

        http.Response.Headers.Location = $"{CollectionUrl(http)}/{result.Id}";

        // With download=true the new dump is sent as a download would send it: from the disk, or from the bucket when
        // it was deleted locally after its upload (Egress:S3:DeleteLocalAfterUpload).
        return streamIt && HeapDumpId.TryParse(result.Id, out var id)
            ? await SendAsync(http, store, id, withRanges: false) ?? Problems.NotFound(id)
            : TypedResults.Json(result, HeapDiagnosticsJsonContext.Default.HeapDumpResult, statusCode: StatusCodes.Status201Created);
    }

    public static async Task<IResult> List(HttpContext http, HeapDumpStore store)
    {
        var collection = CollectionUrl(http);

        // Local and remote merged: a dump written by an instance that is gone is listed from the bucket.
        var catalog = await store.ListAsync(http.RequestAborted);
        var dumps = catalog.Dumps.Select(dump => new HeapDumpListItem(
            dump.Id.ToString(),
            dump.Id.CreatedUtc,
            dump.Id.Trigger,
            dump.Id.DumpNumber,
            dump.Id.Type,
            dump.SizeBytes,
            new HeapDumpLinks($"{collection}/{dump.Id}", dump.HasDiagnostics ? $"{collection}/{dump.Id}/diagnostics" : null),
            dump.Location,
            dump.Remote?.Key,
            dump.Sha256));
        return TypedResults.Json(
            new HeapDumpList(store.DirectoryPath, [.. dumps], store.HasBucket ? store.Target : null, catalog.RemoteError),
            HeapDiagnosticsJsonContext.Default.HeapDumpList);
    }

    public static async Task<IResult> Capabilities(
        HttpContext http, string? type, CaptureCapabilities capabilities, HeapDumpStore store, AnalyzerProcess analyzer, TimeProvider time, IOptions<HeapDiagnosticsOptions> options)
    {
        if (!HeapDumpTypes.TryParse(type ?? options.Value.Capture.DefaultType, out var dumpType))
        {
            return Problems.UnknownType(type);
        }

        // Checked live: the person asking wants to know whether the bucket works now.
        var state = await store.CheckAsync(http.RequestAborted);
        return TypedResults.Json(capabilities.Probe(dumpType) with { Egress = state, Analysis = analyzer.Describe() }, HeapDiagnosticsJsonContext.Default.HeapDumpCapabilities);
    }

    public static async Task<IResult> Download(HttpContext http, string id, HeapDumpStore store) =>
        !HeapDumpId.TryParse(id, out var dumpId) ? Problems.InvalidId(id) : await SendAsync(http, store, dumpId, withRanges: true) ?? Problems.NotFound(dumpId);

    public static async Task<IResult> Diagnostics(HttpContext http, string id, HeapDumpStore store)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return Problems.InvalidId(id);
        }

        // Diagnostics of a failed capture exist without a dump: they are what is left to look at.
        try
        {
            return await store.ReadDiagnosticsAsync(dumpId, http.RequestAborted) is { } content ? TypedResults.Bytes(content, "application/json") : Problems.NotFound(dumpId);
        }
        catch (HeapDumpStoreException ex)
        {
            return Problems.Upstream(ex);
        }
    }

    public static async Task<IResult> Delete(HttpContext http, string id, HeapDumpStore store)
    {
        if (!HeapDumpId.TryParse(id, out var dumpId))
        {
            return Problems.InvalidId(id);
        }

        var deletion = await store.DeleteAsync(dumpId, http.RequestAborted);
        if (deletion.RemoteError is { } error)
        {
            return Problems.Upstream("The heap dump could not be deleted from the bucket", $"{error} Retry DELETE once the bucket is reachable.");
        }

        return deletion.Found ? TypedResults.NoContent() : Problems.NotFound(dumpId);
    }

    /// <summary>
    /// Sends a dump, from the disk or streamed from the bucket, never buffered whole; null when it is nowhere. With
    /// <c>Accept-Encoding: zstd</c> the answer is <c>Content-Encoding: zstd</c> (without ranges); otherwise the raw dump,
    /// where a single byte range is served (206) for a local dump and passed on to the bucket for an uncompressed object.
    /// </summary>
    private static async Task<IResult?> SendAsync(HttpContext http, HeapDumpStore store, HeapDumpId id, bool withRanges)
    {
        var zstd = http.Request.GetTypedHeaders().AcceptEncoding.Any(coding => coding.Value.Equals("zstd", StringComparison.OrdinalIgnoreCase) && (coding.Quality ?? 1) > 0);
        try
        {
            return await store.OpenAsync(id, zstd || !withRanges ? null : RequestedRange(http), http.RequestAborted) is { } dump
                ? new DumpDownloadResult(dump, zstd, withRanges, FileName(id.ToString()))
                : null;
        }
        catch (HeapDumpStoreException ex) when (ex.ErrorCode == "InvalidRange")
        {
            return TypedResults.Problem($"The requested range is outside the dump '{id}'.", statusCode: StatusCodes.Status416RangeNotSatisfiable, title: "Range not satisfiable");
        }
        catch (HeapDumpStoreException ex)
        {
            return Problems.Upstream(ex);
        }
    }

    private static (long? From, long? To)? RequestedRange(HttpContext http)
    {
        var header = http.Request.GetTypedHeaders().Range;
        return header is { Unit.Value: "bytes", Ranges.Count: 1 } && header.Ranges.Single() is var range && (range.From is not null || range.To is not null)
            ? (range.From, range.To)
            : null;
    }

    private static string CollectionUrl(HttpContext http) => (http.Request.PathBase + http.Request.Path).Value!.TrimEnd('/') switch
    {
        var path when path.EndsWith("/heapdump", StringComparison.Ordinal) => path,
        var path => path[..(path.LastIndexOf("/heapdump/", StringComparison.Ordinal) + "/heapdump".Length)],
    };

    private static string FileName(string id) => $"heapdump-{id}.dmp";

    /// <summary>Every error as RFC 9457 ProblemDetails, with a detail a person can act on.</summary>
    internal static class Problems
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

        public static IResult Upstream(HeapDumpStoreException exception) =>
            Upstream("The bucket could not be reached", $"{exception.Message} {exception.Fix}");

        public static IResult Upstream(string title, string detail) =>
            TypedResults.Problem(detail, statusCode: StatusCodes.Status502BadGateway, title: title);

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

/// <summary>
/// The answer of <c>GET /heapdump</c>. <see cref="Remote"/> is the bucket listed too (null with the file system
/// provider); <see cref="RemoteError"/> says why it could not be, in which case only local dumps are listed.
/// </summary>
internal sealed record HeapDumpList(string Directory, IReadOnlyList<HeapDumpListItem> Dumps, string? Remote = null, string? RemoteError = null);

/// <summary>
/// One dump in the list. <see cref="Location"/>: <c>local</c>, <c>s3</c> or <c>both</c>; <see cref="ObjectKey"/> its key in
/// the bucket; <see cref="Sha256"/> the digest of the dump (null for dumps written before digests).
/// </summary>
internal sealed record HeapDumpListItem(
    string Id, DateTimeOffset Created, string Trigger, int DumpNumber, string Type, long SizeBytes, HeapDumpLinks Links, string Location = "local", string? ObjectKey = null, string? Sha256 = null);

/// <summary>Where to fetch a dump and its diagnostics.</summary>
internal sealed record HeapDumpLinks(string Download, string? Diagnostics);
