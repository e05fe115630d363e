using System.ComponentModel.DataAnnotations;

namespace HeapDiag.AspNetCore;

/// <summary>What every bucket provider's section (<c>Egress:S3</c>, <c>Egress:AzureBlob</c>) has: the same behaviour whichever cloud holds the dumps.</summary>
public abstract class BucketEgressOptions
{
    /// <summary>
    /// Name prefix inside the bucket or container, for example <c>heapdumps</c>. Objects are named
    /// <c>{Prefix}/{app}/{processId}-{sessionId}/heapdump-{id}.dmp.zst</c>. Default none.
    /// </summary>
    public string? Prefix { get; set; }

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
    [EnumDataType(typeof(HeapDumpCompression), ErrorMessage = "HeapDiagnostics:Egress:S3:Compression and Egress:AzureBlob:Compression must be zstd (the default) or none.")]
    public HeapDumpCompression Compression { get; set; } = HeapDumpCompression.Zstd;

    // Tuning that is not part of the configuration contract (the binder skips non-public members).

    /// <summary>Bytes per part (the SDKs upload larger objects in parts, in parallel); memory is bounded by a few of them.</summary>
    internal long PartSizeBytes { get; set; } = 16L << 20;

    /// <summary>Attempts per request (the first plus the SDK's retries) for transient failures.</summary>
    internal int MaxAttempts { get; set; } = 4;

    /// <summary>Timeout of one request, so a server that stops answering counts as a transient failure instead of a hang.</summary>
    internal TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a download URL (presigned, SAS) is valid.</summary>
    internal TimeSpan DownloadUrlLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
