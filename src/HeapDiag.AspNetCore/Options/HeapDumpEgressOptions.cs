using System.ComponentModel.DataAnnotations;

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

/// <summary>How dumps are stored in the bucket (<c>Egress:S3:Compression</c>).</summary>
public enum HeapDumpCompression
{
    /// <summary>zstd (the default): objects end in <c>.dmp.zst</c>, typically a fifth of the dump or much less.</summary>
    Zstd,

    /// <summary>The dump as it is: objects end in <c>.dmp</c>.</summary>
    None,
}

/// <summary>Settings under <c>HeapDiagnostics:Egress</c>.</summary>
public sealed class HeapDumpEgressOptions
{
    /// <summary><c>FileSystem</c> (the default: no upload) or <c>S3</c>.</summary>
    [EnumDataType(typeof(HeapDumpEgressProvider), ErrorMessage = "HeapDiagnostics:Egress:Provider must be FileSystem (the default) or S3.")]
    public HeapDumpEgressProvider Provider { get; set; } = HeapDumpEgressProvider.FileSystem;

    /// <summary>The bucket used when <see cref="Provider"/> is <c>S3</c>.</summary>
    [Microsoft.Extensions.Options.ValidateObjectMembers]
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
    /// <c>{Prefix}/{app}/{processId}-{sessionId}/heapdump-{id}.dmp.zst</c>. Default none.
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

    /// <summary>
    /// <c>Zstd</c> (the default) stores dumps compressed, as <c>.dmp.zst</c>; <c>None</c> as they are, as <c>.dmp</c>.
    /// Either way the object's metadata holds the dump's SHA-256, checked whenever HeapDiag fetches it back, and
    /// objects of either kind (including those of earlier versions) are listed, downloaded and analysed.
    /// </summary>
    [EnumDataType(typeof(HeapDumpCompression), ErrorMessage = "HeapDiagnostics:Egress:S3:Compression must be zstd (the default) or none.")]
    public HeapDumpCompression Compression { get; set; } = HeapDumpCompression.Zstd;

    /// <summary>
    /// Answer a download of a dump held only in the bucket with <c>307</c> to a presigned URL of the object (valid
    /// for five minutes) instead of streaming it through the app. The URL names the endpoint as the app reaches it,
    /// so the client must reach it too. Default false.
    /// </summary>
    public bool PresignedDownloads { get; set; }

    // Tuning that is not part of the configuration contract (the binder skips non-public members).

    /// <summary>Bytes per multipart part (TransferUtility uploads larger objects in parts); memory is bounded by a few of them.</summary>
    internal long PartSizeBytes { get; set; } = 16L << 20;

    /// <summary>Attempts per request (the first plus the SDK's retries) for transient failures.</summary>
    internal int MaxAttempts { get; set; } = 4;

    /// <summary>Timeout of one request, so a server that stops answering counts as a transient failure instead of a hang.</summary>
    internal TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a presigned download URL is valid.</summary>
    internal TimeSpan PresignedUrlLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
