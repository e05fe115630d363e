using HeapDiag.AspNetCore.Storage;

namespace HeapDiag.AspNetCore.Egress;

/// <summary>
/// Where a capture's dump went, reported as <c>egress</c> in the capture result. A failed upload never fails the
/// capture: the dump is then kept locally and <see cref="Error"/> says what went wrong and what to do.
/// </summary>
/// <param name="Provider"><c>FileSystem</c> or <c>S3</c>.</param>
/// <param name="Success">Whether the dump is where the provider puts it.</param>
/// <param name="Location">The local path, or <c>s3://bucket/key</c> of the uploaded dump.</param>
/// <param name="Key">The object key in the bucket (S3 only).</param>
/// <param name="Error">Why the upload failed, naming the endpoint and the bucket, and the fix.</param>
/// <param name="Retries">Requests that were repeated after a transient failure.</param>
/// <param name="DurationMs">Time the upload took.</param>
/// <param name="LocalDeleted">Whether the local copy was deleted after the upload (<c>Egress:S3:DeleteLocalAfterUpload</c>).</param>
internal sealed record HeapDumpEgressResult(
    string Provider,
    bool Success,
    string? Location,
    string? Key = null,
    string? Error = null,
    int Retries = 0,
    double DurationMs = 0,
    bool LocalDeleted = false);

/// <summary>What is stored beside a dump in the bucket as object metadata: enough to triage without downloading it.</summary>
internal sealed record HeapDumpUploadMetadata(string Trigger, int DumpNumber, string Type, long WorkingSetBytes, long GcHeapSizeBytes);

/// <summary>A dump found in the bucket. <see cref="Instance"/> is <c>{processId}-{sessionId}</c> of the process that wrote it.</summary>
internal sealed record RemoteHeapDump(HeapDumpId Id, string Key, string? DiagnosticsKey, string Instance, long SizeBytes);

/// <summary>
/// An open object from the bucket, to be streamed to a client and then disposed. <see cref="ContentRange"/> is set
/// when only the requested range was returned.
/// </summary>
internal sealed class RemoteObject(Stream content, long? length, DateTimeOffset? lastModified, string? contentRange, IDisposable owner) : IDisposable
{
    public Stream Content { get; } = content;

    public long? Length { get; } = length;

    public DateTimeOffset? LastModified { get; } = lastModified;

    public string? ContentRange { get; } = contentRange;

    public void Dispose() => owner.Dispose();
}

/// <summary>
/// A single byte range of a download, as the client asked (RFC 9110): <c>(From, To)</c>, <c>(From, null)</c> for
/// the rest from <c>From</c>, or <c>(null, N)</c> for the last N bytes.
/// </summary>
internal sealed record RemoteRange(long? From, long? To);

/// <summary>The result of checking that the egress target is usable (start-up, <c>/heapdump/capabilities</c>).</summary>
internal sealed record HeapDumpEgressCheck(bool Ok, string? Problem, string? Fix);

/// <summary>The egress part of <c>/heapdump/capabilities</c>.</summary>
internal sealed record HeapDumpEgressState(string Provider, string Target, bool Ok, string? Problem, string? Fix, DateTimeOffset CheckedAt);

/// <summary>The egress part of <c>/monitor</c>: the last upload and the last failure of any capture, manual or automatic.</summary>
internal sealed record HeapDumpEgressStatus(
    string Provider,
    string Target,
    DateTimeOffset? LastUploadAt,
    string? LastUploadId,
    HeapDumpEgressError? LastError);

/// <summary>One egress failure: an upload, a listing, a download or a delete.</summary>
internal sealed record HeapDumpEgressError(DateTimeOffset At, string? DumpId, string Message);

/// <summary>
/// An egress failure that could not be retried away, with a message a person can act on: it names the endpoint, the
/// bucket and the fix, and never a credential.
/// </summary>
internal sealed class HeapDumpEgressException : Exception
{
    public HeapDumpEgressException()
    {
    }

    public HeapDumpEgressException(string message)
        : base(message)
    {
    }

    public HeapDumpEgressException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Requests that were repeated before giving up.</summary>
    public int Retries { get; init; }

    /// <summary>What to do about it, for a person.</summary>
    public string? Fix { get; init; }

    /// <summary>The storage service's error code (for example <c>NoSuchBucket</c>), when it answered.</summary>
    public string? ErrorCode { get; init; }
}
