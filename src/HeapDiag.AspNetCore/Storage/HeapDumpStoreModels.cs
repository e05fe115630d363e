namespace HeapDiag.AspNetCore.Storage;

/// <summary>A complete dump on this instance's disk, its SHA-256 (null for a dump older than digests) and its diagnostics.</summary>
internal sealed record StoredHeapDump(HeapDumpId Id, long SizeBytes, string DumpPath, string? DiagnosticsPath, string? Sha256);

/// <summary>A dump in the bucket: the object's size, and the dump's own size and digest from its metadata (null until read, or before digests).</summary>
internal sealed record RemoteHeapDump(HeapDumpId Id, string Key, string? DiagnosticsKey, long StoredBytes, long? SizeBytes = null, string? Sha256 = null)
{
    /// <summary>Whether the object is zstd (<c>.dmp.zst</c>) rather than the raw dump earlier versions wrote (<c>.dmp</c>).</summary>
    public bool Compressed => Key.EndsWith(".zst", StringComparison.Ordinal);
}

/// <summary>A dump wherever it is held: on this instance's disk, in the bucket (<paramref name="Bucket"/>: <c>s3</c>, <c>azureblob</c>), or both.</summary>
internal sealed record HeapDumpEntry(HeapDumpId Id, StoredHeapDump? Local, RemoteHeapDump? Remote, string? Bucket)
{
    public string Location => (Local, Remote) switch { (not null, not null) => "both", (not null, null) => "local", _ => Bucket ?? "local" };

    public long SizeBytes => Local?.SizeBytes ?? Remote?.SizeBytes ?? Remote?.StoredBytes ?? 0;

    public string? Sha256 => Local?.Sha256 ?? Remote?.Sha256;

    public bool HasDiagnostics => Local?.DiagnosticsPath is not null || Remote?.DiagnosticsKey is not null;
}

/// <summary>A dump opened as stored (zstd or raw, perhaps a range of it), or a presigned URL to it; <see cref="SizeBytes"/> is the raw dump's.</summary>
internal sealed record OpenedDump(
    Stream? Content, bool Zstd, long? Length, string? Sha256, DateTimeOffset? LastModified, string? ContentRange = null, long? SizeBytes = null, Uri? Redirect = null) : IDisposable
{
    public void Dispose() => Content?.Dispose();
}

/// <summary>A local copy of a dump that retention leaves alone until this is disposed.</summary>
internal sealed record LocalDumpLease(HeapDumpId Id, string DumpPath, long SizeBytes, string? Sha256, IDisposable Hold) : IDisposable
{
    public void Dispose() => Hold.Dispose();
}

/// <summary>
/// Where a capture's dump went (<c>egress</c> in the capture result): the local path or the object's address (<c>s3://bucket/key</c>, the blob's URL), and the bytes
/// sent. A failed upload never fails the capture: the dump stays local and <see cref="Error"/> names the endpoint and the fix.
/// </summary>
internal sealed record HeapDumpEgressResult(
    string Provider, bool Success, string? Location, string? Key = null, string? Error = null, double DurationMs = 0, bool LocalDeleted = false, long? StoredBytes = null, string? Compression = null);

/// <summary>The egress part of <c>/heapdump/capabilities</c>: whether the bucket (or the directory) is usable now.</summary>
internal sealed record HeapDumpEgressState(string Provider, string Target, bool Ok, string? Problem, string? Fix, DateTimeOffset CheckedAt);

/// <summary>The egress part of <c>/monitor</c>: the last upload and the last failure of any upload, listing, download or delete.</summary>
internal sealed record HeapDumpEgressStatus(string Provider, string Target, DateTimeOffset? LastUploadAt, string? LastUploadId, HeapDumpEgressError? LastError);

/// <summary>One failure of the bucket tier.</summary>
internal sealed record HeapDumpEgressError(DateTimeOffset At, string? DumpId, string Message);

/// <summary>
/// A storage failure a person can act on: the message names the endpoint, bucket, key or directory (never a credential),
/// <see cref="Fix"/> what to do; <see cref="ErrorCode"/> is the storage service's code (<c>NoSuchBucket</c>) when it answered.
/// </summary>
internal sealed class HeapDumpStoreException(string message, Exception? innerException = null) : Exception(message, innerException)
{
    public string? Fix { get; init; }

    public string? ErrorCode { get; init; }
}

/// <summary>Why the dump directory cannot take a file now: not writable, or (<see cref="Writable"/>) too little free space.</summary>
internal sealed record StorageShortfall(bool Writable, string Message);
