using System.Globalization;
using System.Reflection;
using HeapDiag.AspNetCore.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace HeapDiag.AspNetCore.Endpoints;

/// <summary>
/// Sends a dump in the form the client accepts, whatever form the store holds it in: zstd to a client that sent
/// <c>Accept-Encoding: zstd</c> (the stored zstd object as it is, or compressed on the fly), the raw dump to any other
/// (decompressed on the fly from a zstd object). Ranges only for the raw form. <c>X-HeapDiag-Sha256</c> carries the
/// SHA-256 of the raw dump, so a client can check what it saved. A presigned download is a redirect.
/// </summary>
internal sealed class DumpDownloadResult(OpenedDump dump, bool zstd, bool ranges, string fileName) : IResult, IEndpointMetadataProvider
{
    private const string DumpContentType = "application/octet-stream";

    /// <summary>The dump (200), a range of it (206), or a redirect to a presigned URL (307; 303 for a POST).</summary>
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(Stream), [DumpContentType]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status206PartialContent, typeof(Stream), [DumpContentType]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status307TemporaryRedirect, typeof(void)));
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var owned = dump;
        var (request, response, aborted) = (httpContext.Request, httpContext.Response, httpContext.RequestAborted);
        if (dump.Redirect is { } url)
        {
            // 307 keeps the method: right for GET; a POST …?download=true is told to GET the URL instead (303).
            response.StatusCode = HttpMethods.IsGet(request.Method) ? StatusCodes.Status307TemporaryRedirect : StatusCodes.Status303SeeOther;
            response.Headers.Location = url.AbsoluteUri;
            return;
        }

        if (ShortObjectProblem() is { } damaged)
        {
            await TypedResults.Problem(damaged).ExecuteAsync(httpContext);
            return;
        }

        response.Headers.Vary = HeaderNames.AcceptEncoding;
        response.Headers["X-HeapDiag-Sha256"] = dump.Sha256;
        if (!zstd && !dump.Zstd && dump.Content is FileStream file)
        {
            await TypedResults.Stream(file, DumpContentType, fileName, dump.LastModified, enableRangeProcessing: ranges).ExecuteAsync(httpContext);
            return;
        }

        var content = dump.Content!;
        var first = Memory<byte>.Empty;
        if (dump.Zstd && !zstd)
        {
            // Decoded before the answer starts, so an object that is not zstd at all is a 502, not a broken download;
            // one cut short fails at its end, which the client sees as a transfer shorter than Content-Length.
            content = DumpCodec.Decompress(content);
            first = new byte[1 << 16];
            try
            {
                first = first[..await content.ReadAsync(first, aborted)];
            }
            catch (Exception ex) when (DumpCodec.IsCorrupt(ex))
            {
                await content.DisposeAsync();
                await TypedResults.Problem(Problems.Upstream("The dump in the bucket is damaged", $"Its object is not valid zstd ({ex.Message}). Delete it (DELETE /heapdump/{{id}}) and capture a new dump.")).ExecuteAsync(httpContext);
                return;
            }
        }

        SetHeaders(response);
        await using (content)
        {
            if (zstd && !dump.Zstd)
            {
                await using var compressor = DumpCodec.Compress(response.Body, dump.Length, leaveOpen: true);
                await content.CopyToAsync(compressor, 1 << 20, aborted);
                return;
            }

            await response.Body.WriteAsync(first, aborted);
            await content.CopyToAsync(response.Body, 1 << 20, aborted);
        }
    }

    /// <summary>
    /// A whole object that cannot hold the dump recorded with it (empty, or a raw one of another length) is damaged:
    /// answered before the transfer starts. An empty one would otherwise be a 200 with nothing in it, or a zstd object
    /// decoded to nothing, which only the client's check of the digest would catch.
    /// </summary>
    private ProblemDetails? ShortObjectProblem() =>
        dump.ContentRange is null && dump.SizeBytes is > 0 and var size && dump.Length is { } length && (length == 0 || (!dump.Zstd && length != size))
            ? Problems.Upstream("The dump in the bucket is damaged", string.Create(CultureInfo.InvariantCulture, $"Its object holds {length:N0} bytes, but the dump uploaded there was {size:N0} bytes. Delete it (DELETE /heapdump/{{id}}) and capture a new dump."))
            : null;

    private void SetHeaders(HttpResponse response)
    {
        response.StatusCode = dump.ContentRange is null ? StatusCodes.Status200OK : StatusCodes.Status206PartialContent;
        response.ContentType = DumpContentType;
        response.ContentLength = zstd == dump.Zstd ? dump.Length : zstd ? null : dump.SizeBytes;
        response.Headers.AcceptRanges = zstd || dump.Zstd ? "none" : "bytes";
        response.Headers.ContentRange = dump.ContentRange;
        response.Headers.ContentEncoding = zstd ? "zstd" : null;
        response.GetTypedHeaders().LastModified = dump.LastModified;
        var disposition = new ContentDispositionHeaderValue("attachment");
        disposition.SetHttpFileName(fileName);
        response.Headers.ContentDisposition = disposition.ToString();
    }
}
