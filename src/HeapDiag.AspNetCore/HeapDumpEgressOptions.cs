namespace HeapDiag.AspNetCore;

/// <summary>Where finished dumps go after they are written to <c>Storage:Directory</c>.</summary>
public enum HeapDumpEgressProvider
{
    /// <summary>Dumps stay in <c>Storage:Directory</c> on this instance's disk; nothing is uploaded. The default.</summary>
    FileSystem,

    /// <summary>
    /// Each dump and its diagnostics are also uploaded to an S3-compatible bucket (AWS S3, MinIO, Ceph…), so they
    /// outlive the instance that wrote them.
    /// </summary>
    S3,
}

/// <summary>Settings under <c>HeapDiagnostics:Egress</c>.</summary>
public sealed class HeapDumpEgressOptions
{
    /// <summary><c>FileSystem</c> (the default: no upload) or <c>S3</c>.</summary>
    public HeapDumpEgressProvider Provider { get; set; } = HeapDumpEgressProvider.FileSystem;

    /// <summary>The bucket used when <see cref="Provider"/> is <c>S3</c>.</summary>
    public S3EgressOptions S3 { get; } = new();
}

/// <summary>
/// Settings under <c>HeapDiagnostics:Egress:S3</c>. Credentials are deliberately not among them: they come from the
/// AWS SDK's usual chain (<c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>, a profile, or the instance's role),
/// so a secret never sits in application settings, diagnostics or logs.
/// </summary>
public sealed class S3EgressOptions
{
    /// <summary>
    /// Endpoint of an S3-compatible server, for example <c>http://minio:9000</c>. Empty (the default) for AWS S3,
    /// whose endpoint follows from <see cref="Region"/>.
    /// </summary>
    public string? ServiceUrl { get; set; }

    /// <summary>
    /// Region, for example <c>eu-west-1</c>. With AWS S3 and no value, the SDK's region chain applies
    /// (<c>AWS_REGION</c>, the profile); with <see cref="ServiceUrl"/> it is the signing region (default <c>us-east-1</c>).
    /// </summary>
    public string? Region { get; set; }

    /// <summary>The bucket. Required when <c>Egress:Provider</c> is <c>S3</c>; HeapDiag never creates it.</summary>
    public string? Bucket { get; set; }

    /// <summary>
    /// Key prefix inside the bucket, for example <c>heapdumps</c>. Objects are named
    /// <c>{Prefix}/{app}/{processId}-{sessionId}/heapdump-{id}.dmp</c>. Default none.
    /// </summary>
    public string? Prefix { get; set; }

    /// <summary>
    /// Address buckets in the path (<c>http://host/bucket/key</c>) instead of the host name. Most S3-compatible
    /// servers (MinIO, s3rver) need true. Default false.
    /// </summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>
    /// Delete the local dump and its diagnostics once both are in the bucket, to keep the instance's disk free.
    /// A failed upload always keeps them. Default false.
    /// </summary>
    public bool DeleteLocalAfterUpload { get; set; }

    // Tuning that is not part of the configuration contract (the binder skips non-public members). Tests shrink
    // these to force a multipart upload of a small dump and to keep retries quick.

    /// <summary>
    /// Bytes per multipart part; also the size above which an upload is multipart. Memory use is bounded by it.
    /// AWS needs at least 5 MiB for every part but the last; tests against s3rver go down to 1 MiB.
    /// </summary>
    internal long PartSizeBytes { get; set; } = 32L << 20;

    /// <summary>Attempts per request (the first plus retries) for transient failures.</summary>
    internal int MaxAttempts { get; set; } = 4;

    /// <summary>Delay before the first retry; doubled for each next one.</summary>
    internal TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Timeout of one request, so a server that stops answering counts as a transient failure instead of a hang.</summary>
    internal TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);
}
