using HeapDiag.AspNetCore.Analyzer;
using HeapDiag.AspNetCore.Capture;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>The <c>/heapdump</c> routes: capture, list, download, diagnostics, delete; thin handlers over the capture service and the store.</summary>
internal static class HeapDumpEndpoints
{
    public const string DownloadRoute = "HeapDiagnostics.Download";
    public const string DiagnosticsRoute = "HeapDiagnostics.DumpDiagnostics";

    public static void Map(RouteGroupBuilder dumps)
    {
        dumps.MapPost("/", CaptureAsync)
            .WithName("HeapDiagnostics.Capture")
            .WithSummary("Capture a heap dump")
            .WithDescription("Writes a dump with the runtime's own out-of-process writer, after writing the memory diagnostics beside it. type=heap|full|mini|triage (default Capture:DefaultType). download=true streams the new dump in the same response.");
        dumps.MapGet("/", ListAsync)
            .WithName("HeapDiagnostics.List")
            .WithSummary("List the heap dumps, local and in the bucket, newest first")
            .WithDescription("With Egress:Provider=S3 or AzureBlob the local dumps and those in the bucket (every instance of this app) are merged; location says where each one is: local, s3 (or azureblob) or both.");
        dumps.MapGet("/capabilities", CapabilitiesAsync)
            .WithName("HeapDiagnostics.Capabilities")
            .WithSummary("Can a dump be taken here, and if not, why");
        dumps.MapGet("/{id}", DownloadAsync)
            .WithName(DownloadRoute)
            .WithSummary("Download a heap dump (streamed, Range supported; zstd with Accept-Encoding: zstd)")
            .WithDescription("From the local disk, or streamed from the bucket when the dump is held only there (307 to a presigned URL with Egress:S3:PresignedDownloads, to a SAS URL with Egress:AzureBlob:SasDownloads). Accept-Encoding: zstd answers Content-Encoding: zstd, without Range. X-HeapDiag-Sha256 carries the SHA-256 of the dump. A local dump whose SHA-256 no longer matches the one recorded at capture is answered 422 (failure DumpDamaged); verify=false downloads it anyway.");
        dumps.MapGet("/{id}/diagnostics", DiagnosticsAsync)
            .WithName(DiagnosticsRoute)
            .WithSummary("The memory diagnostics written just before that dump");
        dumps.MapDelete("/{id}", DeleteAsync)
            .WithName("HeapDiagnostics.Delete")
            .WithSummary("Delete a heap dump and its diagnostics, locally and in the bucket");
    }

    public static async Task<Results<JsonCreated<HeapDumpResult>, DumpDownloadResult, Problem<DumpCapture>>> CaptureAsync(
        HttpContext http, string? type, string? download, IHeapDumpCapture captures, HeapDumpStore store, LinkGenerator links, IOptions<HeapDumpCaptureOptions> options)
    {
        if (!HeapDumpTypes.TryParse(type ?? options.Value.DefaultType, out var dumpType))
        {
            return new Problem<DumpCapture>(Problems.UnknownType(type));
        }

        if (!QueryFlag.TryParse(download, out var streamIt))
        {
            return new Problem<DumpCapture>(Problems.InvalidFlag("download", download));
        }

        var result = await captures.CaptureAsync(new HeapDumpRequest(DiagnosticsTriggers.Manual, 0, dumpType), http.RequestAborted);
        if (!result.Success || !HeapDumpId.TryParse(result.Id, out var id))
        {
            return new Problem<DumpCapture>(Problems.ForCapture(result)) { RetryAfterSeconds = result.RetryAfterSeconds };
        }

        var location = Link(links, http, DownloadRoute, id);
        if (!streamIt)
        {
            return new JsonCreated<HeapDumpResult>(result, location);
        }

        // With download=true the new dump is sent as a download would send it: from the disk, or from the bucket when
        // it was deleted locally after its upload (DeleteLocalAfterUpload).
        http.Response.Headers.Location = location;
        var (dump, problem) = await SendAsync(http, store, id, withRanges: false);
        return dump is not null ? dump : new Problem<DumpCapture>(problem!);
    }

    public static async Task<JsonOk<HeapDumpList>> ListAsync(HttpContext http, HeapDumpStore store, LinkGenerator links)
    {
        // Local and remote merged: a dump written by an instance that is gone is listed from the bucket.
        var catalog = await store.ListAsync(http.RequestAborted);
        var dumps = catalog.Dumps.Select(dump => new HeapDumpListItem(
            dump.Id.ToString(),
            dump.Id.CreatedUtc,
            dump.Id.Trigger,
            dump.Id.DumpNumber,
            dump.Id.Type,
            dump.SizeBytes,
            new HeapDumpLinks(Link(links, http, DownloadRoute, dump.Id), dump.HasDiagnostics ? Link(links, http, DiagnosticsRoute, dump.Id) : null),
            dump.Location,
            dump.Remote?.Key,
            dump.Sha256));
        return new JsonOk<HeapDumpList>(new HeapDumpList(store.DirectoryPath, [.. dumps], store.HasBucket ? store.Target : null, catalog.RemoteError));
    }

    public static async Task<Results<JsonOk<HeapDumpCapabilities>, Problem<BadInput>>> CapabilitiesAsync(
        HttpContext http, string? type, CaptureCapabilities capabilities, HeapDumpStore store, AnalyzerProcess analyzer, IOptions<HeapDumpCaptureOptions> options)
    {
        if (!HeapDumpTypes.TryParse(type ?? options.Value.DefaultType, out var dumpType))
        {
            return new Problem<BadInput>(Problems.UnknownType(type));
        }

        // Checked live: the person asking wants to know whether the bucket works now.
        var state = await store.CheckAsync(http.RequestAborted);
        return new JsonOk<HeapDumpCapabilities>(capabilities.Probe(dumpType) with { Egress = state, Analysis = analyzer.Describe() });
    }

    public static async Task<Results<DumpDownloadResult, Problem<DumpDownload>>> DownloadAsync(HttpContext http, RequestedDumpId id, string? verify, HeapDumpStore store)
    {
        if (!QueryFlag.TryParse(verify, out var check))
        {
            return new Problem<DumpDownload>(Problems.InvalidFlag("verify", verify));
        }

        // A local dump whose digest no longer matches is not sent as if it were the dump captured; verify=false sends it anyway.
        if ((verify is null || check) && store.Find(id.Value) is { } local && await store.VerifyAsync(local.DumpPath, local.Sha256, http.RequestAborted) is { } mismatch)
        {
            return new Problem<DumpDownload>(Problems.ForAnalysis(AnalysisProblems.Damaged(mismatch)));
        }

        var (dump, problem) = await SendAsync(http, store, id.Value, withRanges: true);
        return dump is not null ? dump : new Problem<DumpDownload>(problem!);
    }

    public static async Task<Results<JsonBytes<MemoryDiagnostics>, Problem<DumpLookup>>> DiagnosticsAsync(HttpContext http, RequestedDumpId id, HeapDumpStore store)
    {
        // Diagnostics of a failed capture exist without a dump: they are what is left to look at.
        try
        {
            return await store.ReadDiagnosticsAsync(id.Value, http.RequestAborted) is { } content
                ? new JsonBytes<MemoryDiagnostics>(content)
                : new Problem<DumpLookup>(Problems.NotFound(id.Value));
        }
        catch (HeapDumpStoreException ex)
        {
            return new Problem<DumpLookup>(Problems.Upstream(ex));
        }
    }

    public static async Task<Results<NoContent, Problem<DumpLookup>>> DeleteAsync(HttpContext http, RequestedDumpId id, HeapDumpStore store)
    {
        var deletion = await store.DeleteAsync(id.Value, http.RequestAborted);
        return deletion.RemoteError is { } error
            ? new Problem<DumpLookup>(Problems.Upstream("The heap dump could not be deleted from the bucket", $"{error} Retry DELETE once the bucket is reachable."))
            : deletion.Found ? TypedResults.NoContent() : new Problem<DumpLookup>(Problems.NotFound(id.Value));
    }

    /// <summary>
    /// Opens a dump to send, from the disk or streamed from the bucket, never buffered whole; or the problem (not found,
    /// bad range, bucket down). With <c>Accept-Encoding: zstd</c> the answer is zstd (without ranges); otherwise the raw
    /// dump, where a single byte range is served (206) for a local dump and passed on to the bucket for an uncompressed object.
    /// </summary>
    private static async Task<(DumpDownloadResult? Dump, ProblemDetails? Problem)> SendAsync(HttpContext http, HeapDumpStore store, HeapDumpId id, bool withRanges)
    {
        var zstd = http.Request.GetTypedHeaders().AcceptEncoding.Any(coding => coding.Value.Equals("zstd", StringComparison.OrdinalIgnoreCase) && (coding.Quality ?? 1) > 0);
        try
        {
            return await store.OpenAsync(id, zstd || !withRanges ? null : RequestedRange(http), http.RequestAborted) is { } dump
                ? (new DumpDownloadResult(dump, zstd, withRanges, id.DumpFileName), null)
                : (null, Problems.NotFound(id));
        }
        catch (HeapDumpStoreException ex)
        {
            return (null, ex.ErrorCode == "InvalidRange" ? Problems.RangeNotSatisfiable(id) : Problems.Upstream(ex));
        }
    }

    private static (long? From, long? To)? RequestedRange(HttpContext http)
    {
        var header = http.Request.GetTypedHeaders().Range;
        return header is { Unit.Value: "bytes", Ranges.Count: 1 } && header.Ranges.Single() is var range && (range.From is not null || range.To is not null)
            ? (range.From, range.To)
            : null;
    }

    /// <summary>The path of a dump's route, under whatever prefix and group the app mapped HeapDiag.</summary>
    private static string Link(LinkGenerator links, HttpContext http, string route, HeapDumpId id) =>
        links.GetPathByName(http, route, new RouteValueDictionary { ["id"] = id.ToString() })
            ?? throw new InvalidOperationException($"The route {route} is not mapped.");
}
