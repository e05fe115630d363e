using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDiag.AspNetCore.Diagnostics;
using HeapDiag.AspNetCore.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeapDiag.AspNetCore.Egress;

/// <summary>Creates the S3 client. A service of its own so tests can hand the client credentials without touching the process environment.</summary>
internal class S3ClientFactory
{
    /// <summary>A client that finds its credentials through the AWS SDK's usual chain (environment, profile, instance role).</summary>
    public virtual IAmazonS3 Create(AmazonS3Config config) => new AmazonS3Client(config);
}

/// <summary>
/// Ships dumps to an S3-compatible bucket under <c>{Prefix}/{app}/{processId}-{sessionId}/heapdump-{id}.dmp</c>,
/// the diagnostics beside them. Uploads stream from the file: one request's body is at most one part
/// (<see cref="S3EgressOptions.PartSizeBytes"/>) read from a <see cref="FileStream"/>, so a 1.5 GB dump is never
/// held in memory. Each request is retried on transient failures with exponential backoff; the last failure is
/// thrown as a <see cref="HeapDumpEgressException"/> naming the endpoint, the bucket and the fix.
/// </summary>
internal sealed partial class S3HeapDumpEgress : IHeapDumpEgressProvider, IDisposable
{
    private const string DumpContentType = "application/octet-stream";
    private const string JsonContentType = "application/json";
    private const string FilePrefix = "heapdump-";
    private const string DumpExtension = ".dmp";
    private const string DiagnosticsExtension = ".diagnostics.json";

    /// <summary>A listing stops here (100 000 objects): past that the bucket needs a lifecycle rule, not a longer list.</summary>
    private const int MaxListPages = 100;

    private const long MaxParts = 10_000;

    private readonly S3EgressOptions s3;
    private readonly S3ClientFactory clientFactory;
    private readonly TimeProvider timeProvider;
    private readonly ILogger<S3HeapDumpEgress> logger;
    private readonly string bucket;
    private readonly string endpoint;
    private readonly string appPrefix;
    private readonly string instancePrefix;
    private readonly string machineName = Ascii(Environment.MachineName);
    private readonly Lock clientLock = new();
    private IAmazonS3? client;

    public S3HeapDumpEgress(
        IOptions<HeapDiagnosticsOptions> options,
        S3ClientFactory clientFactory,
        ProcessInstance instance,
        TimeProvider timeProvider,
        ILogger<S3HeapDumpEgress> logger,
        IHostEnvironment? environment = null)
    {
        s3 = options.Value.Egress.S3;
        this.clientFactory = clientFactory;
        this.timeProvider = timeProvider;
        this.logger = logger;
        bucket = s3.Bucket ?? string.Empty;
        endpoint = string.IsNullOrWhiteSpace(s3.ServiceUrl) ? $"AWS S3 ({(string.IsNullOrWhiteSpace(s3.Region) ? "SDK default region" : s3.Region)})" : s3.ServiceUrl.TrimEnd('/');

        // The host's application name is the app's assembly name even under a test host, where the entry assembly is not.
        var app = KeySegment(environment?.ApplicationName ?? Assembly.GetEntryAssembly()?.GetName().Name ?? "app");
        var prefix = (s3.Prefix ?? string.Empty).Trim('/');
        appPrefix = prefix.Length == 0 ? $"{app}/" : $"{prefix}/{app}/";
        Instance = $"{instance.ProcessId.ToString(CultureInfo.InvariantCulture)}-{instance.SessionId}";
        instancePrefix = $"{appPrefix}{Instance}/";
    }

    public string Name => nameof(HeapDumpEgressProvider.S3);

    public string Target => $"s3://{bucket}/{appPrefix} at {endpoint}";

    public bool IsRemote => true;

    /// <summary>This process's folder under the app's prefix: <c>{processId}-{sessionId}</c>.</summary>
    public string Instance { get; }

    public string DumpKey(HeapDumpId id) => $"{instancePrefix}{FilePrefix}{id}{DumpExtension}";

    public string DiagnosticsKey(HeapDumpId id) => $"{instancePrefix}{FilePrefix}{id}{DiagnosticsExtension}";

    public async Task<(string Key, string Location, int Retries)> UploadAsync(StoredHeapDump dump, HeapDumpUploadMetadata metadata, CancellationToken cancellationToken)
    {
        var retries = new RetryCount();
        var key = DumpKey(dump.Id);
        var length = new FileInfo(dump.DumpPath).Length;
        // S3 allows at most 10 000 parts: past 320 GB at 32 MiB the parts grow instead.
        var partSize = Math.Max(Math.Max(1L << 20, s3.PartSizeBytes), (length + MaxParts - 1) / MaxParts);
        if (length <= partSize)
        {
            await RetryAsync("Upload", key, c => Client().PutObjectAsync(PutFile(key, dump.DumpPath, DumpContentType, metadata), c), retries, s3.MaxAttempts, cancellationToken);
        }
        else
        {
            await UploadMultipartAsync(key, dump.DumpPath, length, partSize, metadata, retries, cancellationToken);
        }

        if (dump.DiagnosticsPath is { } diagnostics && File.Exists(diagnostics))
        {
            var diagnosticsKey = DiagnosticsKey(dump.Id);
            await RetryAsync("Upload", diagnosticsKey, c => Client().PutObjectAsync(PutFile(diagnosticsKey, diagnostics, JsonContentType, metadata), c), retries, s3.MaxAttempts, cancellationToken);
        }

        return (key, $"s3://{bucket}/{key}", retries.Value);
    }

    public async Task<IReadOnlyList<RemoteHeapDump>> ListAsync(CancellationToken cancellationToken)
    {
        var dumps = new List<(HeapDumpId Id, string Key, string Instance, long Size)>();
        var diagnostics = new HashSet<string>(StringComparer.Ordinal);
        string? continuation = null;
        var pages = 0;
        do
        {
            var request = new ListObjectsV2Request { BucketName = bucket, Prefix = appPrefix, ContinuationToken = continuation };
            var response = await RetryAsync("Listing", appPrefix, c => Client().ListObjectsV2Async(request, c), new RetryCount(), s3.MaxAttempts, cancellationToken);

            // AWSSDK 4 leaves empty collections null.
            foreach (var item in response.S3Objects ?? [])
            {
                if (ParseKey(item.Key, DumpExtension) is { } dump)
                {
                    dumps.Add((dump.Id, item.Key, dump.Instance, item.Size ?? 0));
                }
                else if (ParseKey(item.Key, DiagnosticsExtension) is not null)
                {
                    diagnostics.Add(item.Key);
                }
            }

            continuation = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (continuation is not null && ++pages < MaxListPages);

        return [.. dumps
            .OrderByDescending(dump => dump.Id.CreatedUtc)
            .Select(dump =>
            {
                var diagnosticsKey = string.Concat(dump.Key.AsSpan(0, dump.Key.Length - DumpExtension.Length), DiagnosticsExtension);
                return new RemoteHeapDump(dump.Id, dump.Key, diagnostics.Contains(diagnosticsKey) ? diagnosticsKey : null, dump.Instance, dump.Size);
            })];
    }

    public async Task<RemoteObject?> OpenAsync(string key, RemoteRange? range, CancellationToken cancellationToken)
    {
        try
        {
            var response = await RetryAsync("Download", key, c => Client().GetObjectAsync(GetRequest(key, range), c), new RetryCount(), s3.MaxAttempts, cancellationToken);
            var partial = response.HttpStatusCode == HttpStatusCode.PartialContent;
            return new RemoteObject(
                response.ResponseStream,
                response.ContentLength,
                response.LastModified is { } modified ? new DateTimeOffset(DateTime.SpecifyKind(modified, DateTimeKind.Utc)) : null,
                partial ? response.ContentRange : null,
                response);
        }
        catch (HeapDumpEgressException ex) when (ex.ErrorCode == "NoSuchKey")
        {
            return null;
        }
    }

    public async Task DeleteAsync(RemoteHeapDump dump, CancellationToken cancellationToken)
    {
        var retries = new RetryCount();
        await RetryAsync("Delete", dump.Key, c => Client().DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = dump.Key }, c), retries, s3.MaxAttempts, cancellationToken);
        if (dump.DiagnosticsKey is { } diagnosticsKey)
        {
            await RetryAsync("Delete", diagnosticsKey, c => Client().DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = diagnosticsKey }, c), retries, s3.MaxAttempts, cancellationToken);
        }
    }

    public async Task<HeapDumpEgressCheck> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Listing one key proves the endpoint, the credentials, the bucket and the list permission in one request,
            // without writing anything. ListObjects (v1) rather than v2: a truncated v1 page carries no server-made
            // continuation token, which some S3-compatible servers fail to produce (s3rver on Node 20 answers 500).
            var request = new ListObjectsRequest { BucketName = bucket, Prefix = appPrefix, MaxKeys = 1 };
            await RetryAsync("Access check", appPrefix, c => Client().ListObjectsAsync(request, c), new RetryCount(), maxAttempts: 1, cancellationToken);
            return new HeapDumpEgressCheck(true, null, null);
        }
        catch (HeapDumpEgressException ex)
        {
            return new HeapDumpEgressCheck(false, ex.Message, ex.Fix);
        }
    }

    public void Dispose()
    {
        lock (clientLock)
        {
            client?.Dispose();
            client = null;
        }
    }

    /// <summary>The SDK configuration for <paramref name="options"/>.</summary>
    internal static AmazonS3Config CreateConfig(S3EgressOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,

            // AWSSDK.S3 4.x computes flexible checksums by default and sends uploads as aws-chunked bodies with a
            // trailing checksum; S3-compatible servers that do not decode that framing store it as the object's
            // bytes. Checksums only when an operation requires them, plus UseChunkEncoding=false on every upload
            // request, sends the plain bytes, which AWS and every compatible server store as sent.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,

            // Retries are ours: counted in the result, logged, and spaced on the TimeProvider.
            MaxErrorRetry = 0,
            Timeout = options.RequestTimeout,
        };

        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = string.IsNullOrWhiteSpace(options.Region) ? "us-east-1" : options.Region;
        }
        else if (!string.IsNullOrWhiteSpace(options.Region))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return config;
    }

    private async Task UploadMultipartAsync(string key, string path, long length, long partSize, HeapDumpUploadMetadata metadata, RetryCount retries, CancellationToken cancellationToken)
    {
        var initiate = new InitiateMultipartUploadRequest { BucketName = bucket, Key = key, ContentType = DumpContentType };
        AddMetadata(initiate.Metadata, metadata);
        var started = await RetryAsync("Upload", key, c => Client().InitiateMultipartUploadAsync(initiate, c), retries, s3.MaxAttempts, cancellationToken);
        var uploadId = started.UploadId;
        try
        {
            var parts = new List<PartETag>();
            var partNumber = 1;
            for (long offset = 0; offset < length; offset += partSize, partNumber++)
            {
                var size = Math.Min(partSize, length - offset);
                var number = partNumber;
                var position = offset;

                // A new request per attempt: the SDK opens the file at FilePosition and reads PartSize bytes from it,
                // so a retried part starts again from the file, never from a buffer.
                var uploaded = await RetryAsync("Upload", key, c => Client().UploadPartAsync(new UploadPartRequest
                {
                    BucketName = bucket,
                    Key = key,
                    UploadId = uploadId,
                    PartNumber = number,
                    FilePath = path,
                    FilePosition = position,
                    PartSize = size,
                    IsLastPart = position + size >= length,
                    UseChunkEncoding = false,
                }, c), retries, s3.MaxAttempts, cancellationToken);
                parts.Add(new PartETag(number, uploaded.ETag));
                LogPartUploaded(logger, key, number, size);
            }

            await RetryAsync("Upload", key, c => Client().CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = uploadId, PartETags = parts }, c), retries, s3.MaxAttempts, cancellationToken);
        }
        catch
        {
            await TryAbortAsync(key, uploadId);
            throw;
        }
    }

    /// <summary>Frees the parts of a failed upload, which the bucket would otherwise keep (and bill) forever. Best effort.</summary>
    private async Task TryAbortAsync(string key, string uploadId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), timeProvider);
            await Client().AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = uploadId }, timeout.Token);
        }
        catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
        {
            LogAbortFailed(logger, key, ex.Message);
        }
    }

    private PutObjectRequest PutFile(string key, string path, string contentType, HeapDumpUploadMetadata metadata)
    {
        var request = new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            FilePath = path,
            ContentType = contentType,
            UseChunkEncoding = false,
        };
        AddMetadata(request.Metadata, metadata);
        return request;
    }

    private GetObjectRequest GetRequest(string key, RemoteRange? range)
    {
        var request = new GetObjectRequest { BucketName = bucket, Key = key };
        if (range is not null)
        {
            request.ByteRange = new ByteRange(string.Create(CultureInfo.InvariantCulture, $"bytes={range.From}-{range.To}"));
        }

        return request;
    }

    private void AddMetadata(MetadataCollection target, HeapDumpUploadMetadata metadata)
    {
        // x-amz-meta-* headers: what an operator needs to pick a dump from a bucket listing without downloading it.
        target.Add("trigger", metadata.Trigger);
        target.Add("dump-number", metadata.DumpNumber.ToString(CultureInfo.InvariantCulture));
        target.Add("dump-type", metadata.Type);
        target.Add("instance", Instance);
        target.Add("machine-name", machineName);
        target.Add("working-set-bytes", metadata.WorkingSetBytes.ToString(CultureInfo.InvariantCulture));
        target.Add("gc-heap-size-bytes", metadata.GcHeapSizeBytes.ToString(CultureInfo.InvariantCulture));
    }

    private IAmazonS3 Client()
    {
        lock (clientLock)
        {
            // Created on first use, inside a request's error handling: a client that cannot be made (no region, no
            // credentials) becomes an egress error with a fix, not a crash at start.
            return client ??= clientFactory.Create(CreateConfig(s3));
        }
    }

    private async Task<T> RetryAsync<T>(string operation, string key, Func<CancellationToken, Task<T>> call, RetryCount retries, int maxAttempts, CancellationToken cancellationToken)
    {
        maxAttempts = Math.Max(1, maxAttempts);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call(cancellationToken);
            }
            catch (Exception ex) when (attempt < maxAttempts && !cancellationToken.IsCancellationRequested && IsTransient(ex))
            {
                var delay = s3.RetryBaseDelay * Math.Pow(2, attempt - 1);
                retries.Value++;
                LogRetrying(logger, operation, bucket, key, endpoint, attempt, maxAttempts, delay.TotalMilliseconds, Describe(ex));
                await Task.Delay(delay, timeProvider, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var attempts = attempt == 1 ? string.Empty : $" after {attempt} attempts";
                var fix = Fix(ex);
                throw new HeapDumpEgressException($"{operation} of s3://{bucket}/{key} at {endpoint} failed{attempts}: {Describe(ex)}.", ex)
                {
                    Retries = retries.Value,
                    Fix = fix,
                    ErrorCode = (ex as AmazonServiceException)?.ErrorCode,
                };
            }
        }
    }

    private static bool IsTransient(Exception exception)
    {
        if (exception is AmazonServiceException { StatusCode: not 0 } service)
        {
            var status = (int)service.StatusCode;
            return status >= 500 || status == 429 || service.ErrorCode is "SlowDown" or "RequestTimeout" or "RequestTimeTooSkewed";
        }

        // Network trouble surfaces as the HTTP stack's own exceptions, sometimes wrapped by the SDK. A missing local
        // file is an IOException too, but no retry brings it back.
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException or SocketException or TimeoutException or TaskCanceledException
                || (inner is IOException and not FileNotFoundException and not DirectoryNotFoundException))
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(Exception exception)
    {
        if (exception is AmazonServiceException { StatusCode: not 0 } service)
        {
            return $"{service.ErrorCode ?? service.StatusCode.ToString()} (HTTP {(int)service.StatusCode}): {service.Message.TrimEnd('.')}";
        }

        // The outermost message is often generic ("An error occurred while sending the request"); the innermost names
        // the cause ("Connection refused").
        var root = exception.GetBaseException();
        return root == exception || root.Message == exception.Message ? exception.Message.TrimEnd('.') : $"{exception.Message.TrimEnd('.')} ({root.Message.TrimEnd('.')})";
    }

    private string Fix(Exception exception)
    {
        var code = (exception as AmazonServiceException)?.ErrorCode;
        var status = (exception as AmazonServiceException)?.StatusCode;
        if (code is "NoSuchBucket")
        {
            return $"Create the bucket '{bucket}' (HeapDiag never creates it) or correct HeapDiagnostics:Egress:S3:Bucket.";
        }

        if (code is "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" or "InvalidToken" or "ExpiredToken" or "TokenRefreshRequired"
            || status is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            return $"Check the credentials the AWS SDK finds for this process (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the instance role) and that they allow s3:PutObject, s3:GetObject, s3:ListBucket and s3:DeleteObject on bucket '{bucket}'.";
        }

        if (exception is AmazonClientException && exception.Message.Contains("credential", StringComparison.OrdinalIgnoreCase))
        {
            return "Give the AWS SDK credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance/pod role. HeapDiag never takes them from its own settings.";
        }

        return IsTransient(exception)
            ? $"Check that {(string.IsNullOrWhiteSpace(s3.ServiceUrl) ? "AWS S3" : $"HeapDiagnostics:Egress:S3:ServiceUrl ('{s3.ServiceUrl}')")} is right and reachable from this instance; the dump stays in the local directory meanwhile."
            : "Check the HeapDiagnostics:Egress:S3 settings (ServiceUrl, Region, Bucket, ForcePathStyle).";
    }

    /// <summary>Splits <c>{appPrefix}{instance}/heapdump-{id}{extension}</c>; null for any key HeapDiag did not write.</summary>
    private (HeapDumpId Id, string Instance)? ParseKey(string key, string extension)
    {
        if (!key.StartsWith(appPrefix, StringComparison.Ordinal) || !key.EndsWith(extension, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = key[appPrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || rest.IndexOf('/', slash + 1) >= 0)
        {
            return null;
        }

        var name = rest[(slash + 1)..];
        return name.StartsWith(FilePrefix, StringComparison.Ordinal) && HeapDumpId.TryParse(name[FilePrefix.Length..^extension.Length], out var id)
            ? (id, rest[..slash])
            : null;
    }

    private static string KeySegment(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-');
        }

        return builder.Length == 0 ? "app" : builder.ToString();
    }

    private static string Ascii(string text) => string.Concat(text.Select(c => c is >= ' ' and <= '~' ? c : '?'));

    [LoggerMessage(EventId = 2210, Level = LogLevel.Warning, Message = "{Operation} of s3://{Bucket}/{Key} at {Endpoint} failed (attempt {Attempt} of {MaxAttempts}), retrying in {DelayMs} ms: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string operation, string bucket, string key, string endpoint, int attempt, int maxAttempts, double delayMs, string reason);

    [LoggerMessage(EventId = 2211, Level = LogLevel.Debug, Message = "Uploaded part {PartNumber} of {Key} ({SizeBytes} bytes)")]
    private static partial void LogPartUploaded(ILogger logger, string key, int partNumber, long sizeBytes);

    [LoggerMessage(EventId = 2212, Level = LogLevel.Warning, Message = "Could not abort the unfinished multipart upload of {Key}; a lifecycle rule for incomplete uploads cleans it up: {Reason}")]
    private static partial void LogAbortFailed(ILogger logger, string key, string reason);

    /// <summary>Retries counted across the requests of one operation.</summary>
    private sealed class RetryCount
    {
        public int Value { get; set; }
    }
}
