namespace HeapDiag.AspNetCore;

/// <summary>
/// Settings under <c>HeapDiagnostics:Egress:S3</c>. Credentials are deliberately not among them: they come from the
/// AWS SDK's usual chain (<c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>, a profile, or the instance's role),
/// so a secret never sits in application settings, diagnostics or logs.
/// </summary>
public sealed class S3EgressOptions : BucketEgressOptions
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
    /// Address buckets in the path (<c>http://host/bucket/key</c>) instead of the host name. Most S3-compatible
    /// servers (MinIO, s3rver) need true. Default false.
    /// </summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>
    /// Answer a download of a dump held only in the bucket with <c>307</c> to a presigned URL of the object (valid
    /// for five minutes) instead of streaming it through the app. The URL names the endpoint as the app reaches it,
    /// so the client must reach it too. Default false.
    /// </summary>
    public bool PresignedDownloads { get; set; }
}
