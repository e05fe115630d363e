using System.Globalization;
using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;
using HeapDiag.AspNetCore.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Storage;

/// <summary>
/// The S3 bucket tier: <see cref="TransferUtility"/> moves parts from files (bounded memory), the SDK's standard retry mode
/// retries; what fails for good is a <see cref="HeapDumpStoreException"/> with a fix.
/// </summary>
internal sealed class S3DumpBucket(IAmazonS3 client, IOptions<HeapDumpEgressOptions> options, ProcessInstance instance, TimeProvider time, IHostEnvironment? environment = null)
    : IDumpBucket
{
    private const char Separator = '-';
    private const int MaxListPages = BucketLayout.MaxListedObjects / 1000;

    private readonly S3EgressOptions _s3 = options.Value.S3;
    private readonly BucketLayout _layout = new(options.Value.S3, instance, environment, options.Value.AppName);
    private readonly TransferUtility _transfers = new(client, new TransferUtilityConfig { ConcurrentServiceRequests = 4 });

    public string Provider => nameof(HeapDumpEgressProvider.S3);

    public string LocationName => "s3";

    public BucketEgressOptions Settings => _s3;

    public bool RedirectDownloads => _s3.PresignedDownloads;

    public string EndpointSetting => "HeapDiagnostics:Egress:S3:ServiceUrl";

    private string Bucket => _s3.Bucket ?? string.Empty;

    private string Endpoint => string.IsNullOrWhiteSpace(_s3.ServiceUrl) ? $"AWS S3 ({(string.IsNullOrWhiteSpace(_s3.Region) ? "SDK default region" : _s3.Region)})" : _s3.ServiceUrl.TrimEnd('/');

    public string Target => $"s3://{Bucket}/{_layout.AppPrefix} at {Endpoint}";

    public BucketLayout Layout => _layout;

    public string Location(string key) => $"s3://{Bucket}/{key}";

    /// <summary>
    /// The one client, made by dependency injection (credentials from the SDK's chain unless given). AWSSDK.S3 4.x sends
    /// aws-chunked bodies with trailing checksums, which some S3-compatible servers store as the object's bytes: checksums
    /// only when required, and no chunk encoding (PlainBodyS3Client), so every server stores the bytes as sent.
    /// </summary>
    public static IAmazonS3 CreateClient(S3EgressOptions options, AWSCredentials? credentials)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = Math.Max(0, options.MaxAttempts - 1),
            Timeout = options.RequestTimeout,
        };
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            (config.ServiceURL, config.AuthenticationRegion) = (options.ServiceUrl, string.IsNullOrWhiteSpace(options.Region) ? "us-east-1" : options.Region);
        }
        else if (!string.IsNullOrWhiteSpace(options.Region))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return new PlainBodyS3Client(credentials, config);
    }

    public async Task<string> UploadAsync(StoredHeapDump dump, string file, bool compressed, MemoryDiagnostics diagnostics, CancellationToken cancellationToken)
    {
        var key = _layout.DumpKey(dump.Id, compressed);
        var request = new TransferUtilityUploadRequest
        {
            BucketName = Bucket,
            Key = key,
            FilePath = file,
            PartSize = _s3.PartSizeBytes,
            ContentType = compressed ? "application/zstd" : "application/octet-stream",
        };

        // x-amz-meta-*: what an operator needs to pick a dump from the bucket without downloading it, and its digest.
        foreach (var (name, value) in _layout.Metadata(dump, diagnostics, Separator))
        {
            request.Metadata[name] = value;
        }

        await CallAsync("Upload", key, async c => { await _transfers.UploadAsync(request, c); return key; }, cancellationToken);
        if (dump.DiagnosticsPath is { } diagnosticsPath && File.Exists(diagnosticsPath))
        {
            await PutDiagnosticsAsync(key, await File.ReadAllBytesAsync(diagnosticsPath, cancellationToken), cancellationToken);
        }

        return key;
    }

    public Task PutDiagnosticsAsync(string dumpKey, byte[] content, CancellationToken cancellationToken) =>
        PutAsync(BucketLayout.DiagnosticsKey(dumpKey), content, "application/json", cancellationToken);

    public Task PutAsync(string key, byte[] content, string contentType, CancellationToken cancellationToken) => CallAsync("Upload", key, c => client.PutObjectAsync(
        new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(content), ContentType = contentType }, c), cancellationToken);

    public async Task<IReadOnlyList<RemoteHeapDump>> ListAsync(CancellationToken cancellationToken) =>
        _layout.Catalog((await ListObjectsAsync(_layout.AppPrefix, cancellationToken)).Objects);

    /// <summary>
    /// ListObjects (v1) page by page, each page starting after the last key of the one before: s3rver answers a v2
    /// continuation token with an internal error, and every S3 server takes a marker.
    /// </summary>
    public async Task<BucketListing> ListObjectsAsync(string prefix, CancellationToken cancellationToken)
    {
        var objects = new Dictionary<string, long>(StringComparer.Ordinal);
        var request = new ListObjectsRequest { BucketName = Bucket, Prefix = prefix };
        var (page, more) = (0, true);
        for (; more && page < MaxListPages; page++)
        {
            var response = await CallAsync("Listing", prefix, c => client.ListObjectsAsync(request, c), cancellationToken);
            response.S3Objects?.ForEach(item => objects[item.Key] = item.Size ?? 0);
            more = response.IsTruncated == true && response.S3Objects is { Count: > 0 };
            request.Marker = response.S3Objects?.LastOrDefault()?.Key;
        }

        return new BucketListing(objects, page);
    }

    public async Task<RemoteHeapDump> DescribeAsync(RemoteHeapDump dump, CancellationToken cancellationToken)
    {
        var head = await CallAsync("Reading the metadata", dump.Key, c => client.GetObjectMetadataAsync(Bucket, dump.Key, c), cancellationToken);
        return dump with { SizeBytes = SizeOf(head.Metadata) ?? (dump.Compressed ? null : dump.StoredBytes), Sha256 = head.Metadata[BucketLayout.Sha256Metadata] };
    }

    public async Task<OpenedDump?> OpenAsync(RemoteHeapDump dump, (long? From, long? To)? range, CancellationToken cancellationToken)
    {
        var request = new GetObjectRequest { BucketName = Bucket, Key = dump.Key, ByteRange = range is var (from, to) ? new ByteRange(string.Create(CultureInfo.InvariantCulture, $"bytes={from}-{to}")) : null };
        var response = await CallAsync("Download", dump.Key, c => client.GetObjectAsync(request, c), cancellationToken);
        return response is null ? null : new OpenedDump(
            response.ResponseStream,
            dump.Compressed,
            response.ContentLength,
            response.Metadata[BucketLayout.Sha256Metadata],
            response.LastModified is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null,
            response.HttpStatusCode == HttpStatusCode.PartialContent ? response.ContentRange : null,
            SizeOf(response.Metadata));
    }

    public Task<byte[]?> ReadAsync(string key, CancellationToken cancellationToken) => CallAsync("Download", key, async c =>
    {
        using var response = await client.GetObjectAsync(Bucket, key, c);
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer, c);
        return (byte[]?)buffer.ToArray();
    }, cancellationToken);

    public Task DownloadAsync(string key, string file, CancellationToken cancellationToken) =>
        CallAsync("Download", key, async c => { await _transfers.DownloadAsync(new TransferUtilityDownloadRequest { BucketName = Bucket, Key = key, FilePath = file }, c); return file; }, cancellationToken);

    public async Task<Uri> CreateDownloadUrlAsync(RemoteHeapDump dump, CancellationToken cancellationToken) => new(await CallAsync("Presigning", dump.Key, _ => client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
    {
        BucketName = Bucket,
        Key = dump.Key,
        Expires = time.GetUtcNow().Add(_s3.DownloadUrlLifetime).UtcDateTime,
        Protocol = _s3.ServiceUrl?.StartsWith("http:", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
        ResponseHeaderOverrides = { ContentDisposition = $"attachment; filename=\"{BucketLayout.FileName(dump.Key)}\"" },
    }), cancellationToken));

    public Task DeleteAsync(RemoteHeapDump dump, CancellationToken cancellationToken) =>
        Task.WhenAll(BucketLayout.ObjectsOf(dump).Select(key => CallAsync("Delete", key, c => client.DeleteObjectAsync(Bucket, key, c), cancellationToken)));

    /// <summary>Lists one key (v1: s3rver fails v2 tokens).</summary>
    public Task CheckAsync(CancellationToken cancellationToken) =>
        CallAsync("Access check", _layout.AppPrefix, c => client.ListObjectsAsync(new ListObjectsRequest { BucketName = Bucket, Prefix = _layout.AppPrefix, MaxKeys = 1 }, c), cancellationToken);

    private static long? SizeOf(MetadataCollection metadata) =>
        long.TryParse(metadata[BucketLayout.SizeMetadata(Separator)], NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;

    private async Task<T> CallAsync<T>(string operation, string key, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchKey")
        {
            // Gone (deleted meanwhile): the callers answer "not found".
            return default!;
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var service = ex as AmazonServiceException;

            // The outermost message is often generic ("An error occurred while sending the request"); the innermost names the cause.
            var root = ex.GetBaseException().Message.TrimEnd('.');
            var cause = service is { StatusCode: not 0 } ? $"{service.ErrorCode ?? service.StatusCode.ToString()} (HTTP {(int)service.StatusCode}): {service.Message.TrimEnd('.')}"
                : IsNoAnswer(ex) ? $"no answer within the request timeout of {_s3.RequestTimeout} ({_s3.MaxAttempts} attempts)"
                : root == ex.Message.TrimEnd('.') ? root : $"{ex.Message.TrimEnd('.')} ({root})";
            throw new HeapDumpStoreException($"{operation} of s3://{Bucket}/{key} at {Endpoint} failed: {cause}.", ex) { Fix = Fix(ex, service), ErrorCode = service?.ErrorCode };
        }
    }

    /// <summary>The SDK gave up waiting: its request timeout, however deep in the exception it shows.</summary>
    private static bool IsNoAnswer(Exception ex) => ex is OperationCanceledException or TimeoutException || (ex.InnerException is { } inner && IsNoAnswer(inner));

    private string Fix(Exception exception, AmazonServiceException? service) => service switch
    {
        { ErrorCode: "NoSuchBucket" } => $"Create the bucket '{Bucket}' (HeapDiag never creates it) or correct HeapDiagnostics:Egress:S3:Bucket.",
        { ErrorCode: "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" or "InvalidToken" or "ExpiredToken" or "TokenRefreshRequired" }
            or { StatusCode: HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized } =>
            $"Check the credentials the AWS SDK finds for this process (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the instance role) and that they allow s3:PutObject, s3:GetObject, s3:ListBucket and s3:DeleteObject on bucket '{Bucket}'.",
        { StatusCode: > 0 and < (HttpStatusCode)500 } => "Check the HeapDiagnostics:Egress:S3 settings (ServiceUrl, Region, Bucket, ForcePathStyle).",
        null when exception is AmazonClientException && exception.Message.Contains("credential", StringComparison.OrdinalIgnoreCase) =>
            "Give the AWS SDK credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance/pod role. HeapDiag never takes them from its own settings.",
        _ => $"Check that {(string.IsNullOrWhiteSpace(_s3.ServiceUrl) ? "AWS S3" : $"HeapDiagnostics:Egress:S3:ServiceUrl ('{_s3.ServiceUrl}')")} is right and reachable from this instance; the dump stays in the local directory meanwhile.",
    };

    /// <summary>Turns chunk encoding off on every upload request, which TransferUtility's requests cannot set themselves.</summary>
    private sealed class PlainBodyS3Client(AWSCredentials? credentials, AmazonS3Config config) : AmazonS3Client(credentials, config)
    {
        protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
        {
            base.CustomizeRuntimePipeline(pipeline);
            pipeline.AddHandlerBefore<Marshaller>(new PlainBody());
        }

        private sealed class PlainBody : PipelineHandler
        {
            public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
            {
                switch (executionContext.RequestContext.OriginalRequest)
                {
                    case PutObjectRequest put:
                        put.UseChunkEncoding = false;
                        break;
                    case UploadPartRequest part:
                        part.UseChunkEncoding = false;
                        break;
                }

                return base.InvokeAsync<T>(executionContext);
            }
        }
    }
}
